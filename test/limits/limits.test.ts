import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { Limits, formatReset, type LimitSubject } from '../../src/limits/limits.js';
import { openCounters, type CounterBackend, type Counters } from '../../src/limits/counters.js';
import { periodAt } from '../../src/util/calendar.js';
import { Pacer } from '../../src/limits/pacer.js';
import { startTestRedis } from '../helpers/redis-server.js';
import { limitsSchema } from '../../src/config/schema.js';
import { AifdError } from '../../src/errors.js';
import { priceTable } from '../../src/usage/prices.js';
import { TestClock } from '../helpers/clock.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** Lets due timers run: a counter store that armed a timer Node cannot hold drops its count then. */
const yieldToTimers = () => new Promise<void>((resolve) => setTimeout(resolve, 2));
const REDIS_PREFIX = `aifd-test-${randomBytes(4).toString('hex')}:`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-limits-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${REDIS_PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const user = (name: string, extra: Partial<LimitSubject> = {}): LimitSubject => ({
  user: name,
  roles: [],
  ip: '10.0.0.1',
  anonymous: false,
  path: '/v1/chat/completions',
  ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<AifdError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AifdError);
  return error as AifdError;
}

function backends(): [string, () => CounterBackend][] {
  return [
    ['memory', () => ({ kind: 'memory' })],
    ['sqlite', () => ({ kind: 'sqlite', file: path.join(dir, `${randomBytes(4).toString('hex')}.sqlite`) })],
    [
      'redis',
      () => ({
        kind: 'redis',
        url: 'redis://127.0.0.1:6379',
        prefix: `${REDIS_PREFIX}${randomBytes(4).toString('hex')}:`,
        onDown: 'closed',
      }),
    ],
  ];
}

for (const [name, backend] of backends()) {
  describe(`limits on ${name} counters`, () => {
    let counters: Counters;
    beforeAll(async () => {
      counters = await openCounters(backend());
    });
    afterAll(async () => {
      await counters.close();
    });

    const limits = (config: unknown, clock: TestClock) =>
      new Limits(limitsSchema.parse(config), counters, clock, priceTable({ 'test-model': { input: 1, output: 1 } }));

    it('fixed window: exactly N pass, the next is refused, and the window resets', async () => {
      const clock = new TestClock(100 * MINUTE);
      const subject = user(`fixed-${randomBytes(3).toString('hex')}`);
      const l = limits({ strategy: 'fixed-window', user: { requests: '5/minute' } }, clock);
      for (let i = 0; i < 5; i++) await l.admit(subject, undefined);
      clock.t += 30_000;
      const error = await refusal(l.admit(subject, undefined));
      expect(error.code).toBe('rate_limit_exceeded');
      expect(error.retryAfterSec).toBe(30);
      expect(error.headers).toMatchObject({
        'x-ratelimit-limit-requests': '5',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '30s',
      });
      clock.t += 30_000;
      for (let i = 0; i < 5; i++) await l.admit(subject, undefined);
      await refusal(l.admit(subject, undefined));
    });

    it('moving window: the previous window fades out as time slides', async () => {
      const clock = new TestClock(200 * MINUTE);
      const subject = user(`moving-${randomBytes(3).toString('hex')}`);
      const l = limits({ strategy: 'moving-window', user: { requests: '10/minute' } }, clock);
      for (let i = 0; i < 10; i++) await l.admit(subject, undefined);
      await refusal(l.admit(subject, undefined));
      clock.t += 90_000; // half-way into the next window: half of the previous still counts
      for (let i = 0; i < 5; i++) await l.admit(subject, undefined);
      const error = await refusal(l.admit(subject, undefined));
      expect(error.retryAfterSec).toBeGreaterThan(0);
      clock.t += 60_000;
      for (let i = 0; i < 5; i++) await l.admit(subject, undefined);
    });

    it('100 parallel requests against a limit of 10 let exactly 10 through; other users are untouched', async () => {
      const clock = new TestClock(300 * MINUTE);
      const subject = user(`burst-${randomBytes(3).toString('hex')}`);
      const l = limits({ user: { requests: '10/minute' } }, clock);
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => l.admit(subject, undefined)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      await l.admit(user(`other-${randomBytes(3).toString('hex')}`), undefined);
    });

    it('a JWT claim lowers a limit', async () => {
      const clock = new TestClock(400 * MINUTE);
      const subject = user(`claim-${randomBytes(3).toString('hex')}`, {
        claims: { requests: '2/minute', id: `jti-${randomBytes(3).toString('hex')}` },
      });
      const l = limits({ user: { requests: '10/minute' } }, clock);
      await l.admit(subject, undefined);
      await l.admit(subject, undefined);
      const error = await refusal(l.admit(subject, undefined));
      expect(error.message).toContain('token');
    });

    it('50 parallel requests never overdraw a budget that fits 10', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 29, 12));
      const subject = user(`budget-${randomBytes(3).toString('hex')}`);
      // each request reserves 100 prompt + 100 output tokens at $1/M each = $0.0002; budget fits 10
      const l = limits({ budgets: { users: { '*': { daily: 0.002 } } } }, clock);
      const admitted = await Promise.allSettled(
        Array.from({ length: 50 }, () => l.admit(subject, { model: 'test-model', promptTokens: 100, maxTokens: 100 })),
      );
      const passed = admitted.filter(
        (r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof l.admit>>> => r.status === 'fulfilled',
      );
      expect(passed).toHaveLength(10);
      for (const r of admitted)
        if (r.status === 'rejected') expect((r.reason as AifdError).code).toBe('budget_exceeded');
      // each answer used a little less than reserved; settling twice changes nothing
      await Promise.all(
        passed.map((r) =>
          r.value.settle({ prompt_tokens: 100, completion_tokens: 80, total_tokens: 180 }, 'test-model'),
        ),
      );
      await Promise.all(
        passed.map((r) =>
          r.value.settle({ prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 }, 'test-model'),
        ),
      );
      const spentMicro = await counters.get(`usd:user:${subject.user}:${periodAt('daily', clock.t, 'UTC').label}`);
      expect(spentMicro).toBe(10 * 180);
      expect(spentMicro).toBeLessThanOrEqual(2000 + 200);
      // what was freed by settling can be used again
      await l.admit(subject, { model: 'test-model', promptTokens: 100, maxTokens: 100 });
    });

    for (const [unit, durationMs] of [
      ['second', 1000],
      ['minute', MINUTE],
      ['hour', 60 * MINUTE],
      ['day', DAY],
      ['week', 7 * DAY],
      ['month', 30 * DAY],
      ['2months', 60 * DAY],
    ] as const) {
      for (const strategy of ['fixed-window', 'moving-window'] as const) {
        it(`counts 3/${unit} exactly (${strategy}): 3 pass, the rest are refused until the window has passed`, async () => {
          const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
          const subject = user(`${unit}-${strategy}-${randomBytes(3).toString('hex')}`);
          const l = limits({ strategy, user: { requests: `3/${unit}` } }, clock);
          for (let i = 0; i < 3; i++) await l.admit(subject, undefined);
          for (let i = 0; i < 3; i++) {
            await yieldToTimers();
            const error = await refusal(l.admit(subject, undefined));
            expect(error.code).toBe('rate_limit_exceeded');
            expect(error.retryAfterSec! * 1000).toBeLessThanOrEqual(2 * durationMs);
          }
          // Past two windows neither the current nor the previous one counts.
          clock.t += 2 * durationMs;
          for (let i = 0; i < 3; i++) await l.admit(subject, undefined);
          await refusal(l.admit(subject, undefined));
        });
      }
    }

    for (const period of ['daily', 'weekly', 'monthly'] as const) {
      it(`charges a session's responses to the ${period} budget of the period each one ends in`, async () => {
        const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
        const subject = user(`session-${period}-${randomBytes(3).toString('hex')}`);
        // 180 tokens at $1/M are 180 micro-USD; the budget fits one such response, not two.
        const l = limits({ budgets: { users: { '*': { [period]: 0.0003 } } } }, clock);
        const spent = (at: number) => counters.get(`usd:user:${subject.user}:${periodAt(period, at, 'UTC').label}`);
        const response = { prompt_tokens: 100, completion_tokens: 80, total_tokens: 180 };
        const ends = periodAt(period, clock.t, 'UTC').endsAt;
        clock.t = ends - MINUTE / 2;
        const session = await l.admitSession(subject, 'test-model');
        expect(await session.charge(response, 'test-model')).toBeUndefined();
        // The period turns while the session is open: the next response counts in the new one.
        clock.t = ends + 1000;
        expect(await session.charge(response, 'test-model')).toBeUndefined();
        expect(await spent(ends - 1000)).toBe(180);
        expect(await spent(ends + 1000)).toBe(180);
        // A third response in the same period uses the budget up.
        expect((await session.charge(response, 'test-model'))?.code).toBe('budget_exceeded');
        expect((await refusal(l.admitSession(subject, 'test-model'))).code).toBe('budget_exceeded');
      });
    }

    it("refuses a session whose token window is used up, and charges the next window's responses there", async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
      const subject = user(`session-tokens-${randomBytes(3).toString('hex')}`);
      const l = limits({ strategy: 'fixed-window', user: { tokens: '300/minute' } }, clock);
      const session = await l.admitSession(subject, 'test-model');
      const response = { prompt_tokens: 100, completion_tokens: 80, total_tokens: 180 };
      expect(await session.charge(response, 'test-model')).toBeUndefined();
      expect((await session.charge(response, 'test-model'))?.code).toBe('tokens_limit_exceeded');
      expect((await refusal(l.admitSession(subject, 'test-model'))).code).toBe('tokens_limit_exceeded');
      clock.t += MINUTE;
      await yieldToTimers();
      const next = await l.admitSession(subject, 'test-model');
      expect(await next.charge(response, 'test-model')).toBeUndefined();
    });

    it('counts several windows joined by ";" each on its own (5/hour;7/month)', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
      const subject = user(`joined-${randomBytes(3).toString('hex')}`);
      const l = limits({ strategy: 'fixed-window', user: { requests: '5/hour;7/month' } }, clock);
      for (let i = 0; i < 5; i++) await l.admit(subject, undefined);
      expect((await refusal(l.admit(subject, undefined))).message).toContain('limit of 5');
      clock.t += 60 * MINUTE;
      await yieldToTimers();
      await l.admit(subject, undefined);
      await l.admit(subject, undefined);
      expect((await refusal(l.admit(subject, undefined))).message).toContain('limit of 7');
    });

    it('counts a monthly token limit across days', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
      const subject = user(`tokmonth-${randomBytes(3).toString('hex')}`);
      const l = limits({ strategy: 'fixed-window', user: { tokens: '1000/month' } }, clock);
      for (let day = 0; day < 3; day++) {
        const admission = await l.admit(subject, { model: 'test-model', promptTokens: 100, maxTokens: 200 });
        await admission.settle({ prompt_tokens: 100, completion_tokens: 200, total_tokens: 300 }, 'test-model');
        clock.t += DAY;
        await yieldToTimers();
      }
      const error = await refusal(l.admit(subject, { model: 'test-model', promptTokens: 100, maxTokens: 200 }));
      expect(error.code).toBe('tokens_limit_exceeded');
      expect(error.headers['x-ratelimit-remaining-tokens']).toBe('100');
    });

    for (const period of ['daily', 'weekly', 'monthly'] as const) {
      it(`a ${period} budget refuses once spent and is new in the next ${period === 'daily' ? 'day' : period.slice(0, -2)}`, async () => {
        // Monday 2026-11-02, 12:00 UTC: the week ends Monday the 9th, the month 29 days later.
        const clock = new TestClock(Date.UTC(2026, 10, 2, 12));
        const subject = user(`${period}-${randomBytes(3).toString('hex')}`);
        const l = limits({ budgets: { timezone: 'UTC', users: { [subject.user!]: { [period]: 0.001 } } } }, clock);
        const spend = async () => {
          const admission = await l.admit(subject, { model: 'test-model', promptTokens: 200, maxTokens: 200 });
          await admission.settle({ prompt_tokens: 200, completion_tokens: 200, total_tokens: 400 }, 'test-model');
        };
        await spend();
        await spend(); // $0.0008 of $0.001 spent
        await yieldToTimers();
        clock.t += 6 * 60 * MINUTE;
        expect((await refusal(l.admit(subject, { model: 'test-model', promptTokens: 200, maxTokens: 200 }))).code).toBe(
          'budget_exceeded',
        );
        const end = periodAt(period, clock.t, 'UTC').endsAt;
        clock.t = end - 1000;
        await yieldToTimers();
        expect((await refusal(l.admit(subject, { model: 'test-model', promptTokens: 200, maxTokens: 200 }))).code).toBe(
          'budget_exceeded',
        );
        clock.t = end;
        await spend();
      });
    }

    it('refuses a model without a price to a caller with a USD budget (unpriced: deny, the default), lets it through with allow', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
      const subject = user(`unpriced-${randomBytes(3).toString('hex')}`);
      const deny = limits(
        { user: { requests: '100/minute' }, budgets: { users: { '*': { daily: 0.000001 } } } },
        clock,
      );
      const refused = await refusal(deny.admit(subject, { model: 'gpt-4-32k', promptTokens: 10, maxTokens: 10 }));
      expect(refused.code).toBe('model_not_priced');
      expect(refused.status).toBe(403);
      expect(refused.message).toContain('"gpt-4-32k" has no price');
      const priced = await refusal(deny.admit(subject, { model: 'test-model', promptTokens: 10, maxTokens: 10 }));
      expect(priced.code).toBe('budget_exceeded');
      // neither refused request used up a request
      expect((await deny.admit(subject, undefined)).headers['x-ratelimit-remaining-requests']).toBe('99');
      const allow = limits({ budgets: { unpriced: 'allow', users: { '*': { daily: 0.000001 } } } }, clock);
      for (let i = 0; i < 3; i++) await allow.admit(subject, { model: 'gpt-4-32k', promptTokens: 10, maxTokens: 10 });
      // a caller without a budget is not refused either way
      const noBudget = limits({ budgets: { users: { someone: { daily: 1 } } } }, clock);
      await noBudget.admit(subject, { model: 'gpt-4-32k', promptTokens: 10, maxTokens: 10 });
    });

    it('routes: one count shared by every caller; routesPerUser: a count for each caller', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 12));
      const tag = randomBytes(3).toString('hex');
      const [alice, bob] = [user(`alice-${tag}`), user(`bob-${tag}`)];
      const shared = limits({ strategy: 'fixed-window', routes: { '/v1/chat/completions': '2/minute' } }, clock);
      await shared.admit(alice, undefined);
      await shared.admit(alice, undefined);
      expect((await refusal(shared.admit(bob, undefined))).message).toContain('route /v1/chat/completions');
      clock.t += MINUTE;
      const perUser = limits(
        { strategy: 'fixed-window', routesPerUser: { '/v1/chat/completions': '2/minute' } },
        clock,
      );
      await perUser.admit(alice, undefined);
      await perUser.admit(alice, undefined);
      expect((await refusal(perUser.admit(alice, undefined))).message).toContain('per caller');
      await perUser.admit(bob, undefined);
      await perUser.admit(bob, undefined);
      // another route is not counted; anonymous callers count per address
      await perUser.admit(user(`alice-${tag}`, { path: '/v1/embeddings' }), undefined);
      const anon = (ip: string) => user('anonymous', { anonymous: true, ip });
      await perUser.admit(anon(`10.1.${tag.length}.1`), undefined);
      await perUser.admit(anon(`10.1.${tag.length}.1`), undefined);
      await refusal(perUser.admit(anon(`10.1.${tag.length}.1`), undefined));
      await perUser.admit(anon(`10.1.${tag.length}.2`), undefined);
    });

    it('limits.ip counts anonymous callers only unless ipAppliesTo is "all"', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 13));
      const ip = `10.2.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
      const authenticated = user(`ipuser-${randomBytes(3).toString('hex')}`, { ip });
      const anonymousOnly = limits({ strategy: 'fixed-window', ip: '2/minute' }, clock);
      for (let i = 0; i < 4; i++) await anonymousOnly.admit(authenticated, undefined);
      clock.t += MINUTE;
      const everyone = limits({ strategy: 'fixed-window', ip: '2/minute', ipAppliesTo: 'all' }, clock);
      await everyone.admit(authenticated, undefined);
      await everyone.admit(user(`other-${randomBytes(3).toString('hex')}`, { ip }), undefined);
      expect((await refusal(everyone.admit(authenticated, undefined))).message).toContain(`address ${ip}`);
    });

    it('a USD budget prices audio at the audio rate, in the reservation and in the settlement', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 3, 15));
      const subject = user(`audio-${randomBytes(3).toString('hex')}`);
      const l = new Limits(
        limitsSchema.parse({ budgets: { users: { '*': { daily: 0.01 } } } }),
        counters,
        clock,
        priceTable({ voice: { input: 1, output: 2, audioInput: 40, audioOutput: 80 } }),
      );
      // 200 audio prompt tokens at $40/M = $0.008 reserved, plus 10 output at $2/M
      const first = await l.admit(subject, {
        model: 'voice',
        promptTokens: 210,
        audioPromptTokens: 200,
        maxTokens: 10,
      });
      expect(Number(first.headers['x-aifd-budget-remaining-usd'])).toBeCloseTo(
        0.01 - (200 * 40 + 10 * 1 + 10 * 2) / 1e6,
        4,
      );
      await first.settle(
        {
          prompt_tokens: 210,
          completion_tokens: 10,
          total_tokens: 220,
          audio_prompt_tokens: 200,
          audio_completion_tokens: 10,
        },
        'voice',
      );
      const spent = await counters.get(`usd:user:${subject.user}:${periodAt('daily', clock.t, 'UTC').label}`);
      expect(spent).toBe(Math.ceil(200 * 40 + 10 * 1 + 10 * 80));
      // the same request as text would fit; as audio it does not
      await l.admit(user(`${subject.user}-text`), { model: 'voice', promptTokens: 210, maxTokens: 10 });
      expect(
        (await refusal(l.admit(subject, { model: 'voice', promptTokens: 210, audioPromptTokens: 200, maxTokens: 10 })))
          .code,
      ).toBe('budget_exceeded');
    });

    it('token limits and budgets refuse, then recover when the period ends', async () => {
      const clock = new TestClock(Date.UTC(2026, 10, 29, 23, 59));
      const subject = user(`period-${randomBytes(3).toString('hex')}`);
      const l = limits(
        { user: { tokens: '1000/day' }, budgets: { timezone: 'UTC', users: { [subject.user!]: { daily: 1 } } } },
        clock,
      );
      const first = await l.admit(subject, { model: 'test-model', promptTokens: 400, maxTokens: 500 });
      await first.settle({ prompt_tokens: 400, completion_tokens: 500, total_tokens: 900 }, 'test-model');
      const tokensError = await refusal(l.admit(subject, { model: 'test-model', promptTokens: 50, maxTokens: 100 }));
      expect(tokensError.code).toBe('tokens_limit_exceeded');
      expect(tokensError.headers['x-ratelimit-remaining-tokens']).toBe('100');
      const big = await refusal(
        l.admit(user(`${subject.user}-2`, { user: subject.user }), {
          model: 'test-model',
          promptTokens: 10,
          maxTokens: 2_000_000,
        }),
      );
      expect(['tokens_limit_exceeded', 'budget_exceeded']).toContain(big.code);
      clock.t += 24 * 60 * MINUTE; // a day later both the token window and the budget day are new
      await l.admit(subject, { model: 'test-model', promptTokens: 50, maxTokens: 100 });
    });
  });
}

describe('limits that last', () => {
  it('a restart keeps spend (SQLite)', async () => {
    const file = path.join(dir, 'restart.sqlite');
    const clock = new TestClock(Date.UTC(2026, 10, 29, 10));
    const config = limitsSchema.parse({ budgets: { users: { '*': { daily: 0.001 } } } });
    const prices = priceTable({ 'test-model': { input: 1, output: 1 } });
    const before = await openCounters({ kind: 'sqlite', file });
    const admission = await new Limits(config, before, clock, prices).admit(user('ann'), {
      model: 'test-model',
      promptTokens: 300,
      maxTokens: 300,
    });
    await admission.settle({ prompt_tokens: 300, completion_tokens: 500, total_tokens: 800 }, 'test-model');
    await before.close();
    const after = await openCounters({ kind: 'sqlite', file });
    const error = await refusal(
      new Limits(config, after, clock, prices).admit(user('ann'), {
        model: 'test-model',
        promptTokens: 100,
        maxTokens: 200,
      }),
    );
    expect(error.code).toBe('budget_exceeded');
    await after.close();
  });
});

describe('Redis counters while Redis is away (onDown: open)', () => {
  it('count a monthly window and budget exactly in memory', async () => {
    const redis = await startTestRedis();
    const counters = await openCounters({
      kind: 'redis',
      url: redis.url,
      prefix: `${REDIS_PREFIX}insurance:`,
      onDown: 'open',
    });
    try {
      await redis.stop();
      const clock = new TestClock(Date.UTC(2026, 10, 2, 12));
      const l = new Limits(
        limitsSchema.parse({
          user: { requests: '3/month' },
          budgets: { timezone: 'UTC', users: { '*': { monthly: 0.001 } } },
        }),
        counters,
        clock,
        priceTable({ 'test-model': { input: 1, output: 1 } }),
      );
      for (let i = 0; i < 2; i++) {
        const admission = await l.admit(user('ann'), { model: 'test-model', promptTokens: 200, maxTokens: 200 });
        await admission.settle({ prompt_tokens: 200, completion_tokens: 200, total_tokens: 400 }, 'test-model');
        await yieldToTimers();
      }
      expect(
        (await refusal(l.admit(user('ann'), { model: 'test-model', promptTokens: 200, maxTokens: 200 }))).code,
      ).toBe('budget_exceeded');
      await l.admit(user('ann'), undefined);
      await yieldToTimers();
      expect((await refusal(l.admit(user('ann'), undefined))).code).toBe('rate_limit_exceeded');
    } finally {
      await counters.close();
      await redis.stop();
    }
  });
});

describe('calendar periods', () => {
  it('starts and ends days, weeks and months at local midnight, across DST', () => {
    const at = Date.UTC(2026, 2, 28, 23, 30); // 00:30 on Sunday 29 March in Berlin (CET, +1)
    expect(periodAt('daily', at, 'Europe/Berlin')).toEqual({
      label: '2026-03-29',
      startsAt: Date.UTC(2026, 2, 28, 23),
      endsAt: Date.UTC(2026, 2, 29, 22), // CEST from 02:00
    });
    expect(periodAt('weekly', at, 'Europe/Berlin')).toEqual({
      label: 'week-2026-03-23',
      startsAt: Date.UTC(2026, 2, 22, 23),
      endsAt: Date.UTC(2026, 2, 29, 22),
    });
    expect(periodAt('monthly', at, 'Europe/Berlin')).toEqual({
      label: '2026-03',
      startsAt: Date.UTC(2026, 1, 28, 23),
      endsAt: Date.UTC(2026, 2, 31, 22),
    });
    expect(periodAt('daily', at, 'UTC')).toEqual({
      label: '2026-03-28',
      startsAt: Date.UTC(2026, 2, 28),
      endsAt: Date.UTC(2026, 2, 29),
    });
    expect(periodAt('monthly', Date.UTC(2026, 11, 31, 12), 'UTC')).toEqual({
      label: '2026-12',
      startsAt: Date.UTC(2026, 11, 1),
      endsAt: Date.UTC(2027, 0, 1),
    });
  });
});

describe('small pieces', () => {
  it('formats resets like OpenAI', () => {
    expect(formatReset(20)).toBe('20ms');
    expect(formatReset(1000)).toBe('1s');
    expect(formatReset(360_000)).toBe('6m0s');
    expect(formatReset(3_723_000)).toBe('1h2m3s');
  });
  it('spaces paced events evenly', () => {
    let now = 0;
    const pacer = new Pacer(100, () => now);
    expect([pacer.delay(), pacer.delay(), pacer.delay()]).toEqual([0, 100, 200]);
    now = 1000;
    expect(pacer.delay()).toBe(0);
  });
});
