/**
 * Request limits, token limits and budgets, all on atomic counters.
 *
 * Request limits count one per request (global, per route, per user, per role member, per token
 * claim, per address for anonymous callers). Token limits and budgets follow reserve-then-settle:
 * before forwarding, the prompt's estimate plus the answer's ceiling is added to every counter that
 * applies, and a counter that would go past its limit takes its share back and refuses the request;
 * when the answer ends, each counter is settled to the real usage, exactly once. Adding first and
 * checking the total it returns is what keeps parallel requests from overdrawing.
 */
import type { LimitsConfig } from '../config/schema.js';
import { AifdError, type ErrorCode } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { costOf, type PricedUsage, type PriceTable } from '../usage/prices.js';
import type { Usage } from '../usage/usage.js';
import type { Counters } from './counters.js';
import { effectiveCount, msUntilFits, windowAt, type Strategy } from './windows.js';
import {
  codeFor,
  formatReset,
  headersFor,
  mergeHeaders,
  messageFor,
  MICRO_USD,
  unpricedRefusal,
  usedUpMessage,
  type CounterLimit,
  type LimitHeaders,
} from './limit-answers.js';
import type { LimitSubject } from './limit-subject.js';
import { CounterLimits } from './counter-limits.js';

export { formatReset, type LimitHeaders, type LimitSubject };

export interface TokenRequest {
  model: string | undefined;
  /** Prompt tokens: a bound, at least the exact count (see estimate.ts). */
  promptTokens: number;
  /**
   * The exact count, asked for only when the bound does not fit a limit: a request that fits is
   * never refused because its bound was loose.
   */
  exactPromptTokens?: () => Promise<number>;
  /** Of those, audio (priced at the audio rate). */
  audioPromptTokens?: number;
  /** The answer's ceiling (max_tokens), if the request sets one. */
  maxTokens: number | undefined;
}

export interface Admission {
  headers: LimitHeaders;
  /** Settles reservations to the real usage; safe to call more than once (only the first counts). */
  settle(usage: Usage | undefined, model: string | undefined): Promise<void>;
}

/** A WebSocket session's admission: its usage is charged response by response, as it comes. */
export interface SessionAdmission extends Admission {
  /**
   * Adds one response's usage to the caller's token limits and budgets; returns the refusal once
   * one of them is used up (the response that reached it is counted in full).
   */
  charge(usage: Usage, model: string | undefined): Promise<AifdError | undefined>;
}

interface Taken {
  limit: CounterLimit;
  key: string;
  points: number;
}

export class Limits {
  private readonly strategy: Strategy;
  private readonly list: CounterLimits;
  private readonly typicalOutput = new Map<string, number>();

  constructor(
    private readonly config: LimitsConfig,
    private readonly counters: Counters,
    private readonly clock: Clock,
    private readonly prices: PriceTable,
    /** Told when a budget passes its soft share (for alerts). */
    private readonly onSoftLimit?: (budget: string, counter: string, spentShare: number) => void,
  ) {
    this.strategy = config.strategy;
    this.list = new CounterLimits(config);
  }

  /** Whether any token limit or budget applies (then the prompt must be estimated). */
  get countsTokens(): boolean {
    return Boolean(
      this.config.user?.tokens ||
        this.config.budgets ||
        Object.values(this.config.roles ?? {}).some((role) => role.tokens),
    );
  }

  /** Whether failed credentials count against the caller's address (`limits.ip`). */
  get checksAddresses(): boolean {
    return this.config.ip !== undefined;
  }

  /** Refuses repeated failed credentials from one address (before authentication runs). */
  async checkAddress(ip: string): Promise<void> {
    if (!this.config.ip) return;
    for (const window of this.list.windows(this.config.ip)) {
      const position = windowAt(this.clock.now(), window.durationMs);
      const current = await this.counters.get(`authfail:${ip}:${window.durationMs}:${position.index}`);
      if (current >= window.points) {
        throw this.refusal(
          'rate_limit_exceeded',
          `too many failed attempts from ${ip}; wait before trying again`,
          position.endsAt - this.clock.now(),
          {},
        );
      }
    }
  }

  async recordAuthFailure(ip: string): Promise<void> {
    if (!this.config.ip) return;
    for (const window of this.list.windows(this.config.ip)) {
      const position = windowAt(this.clock.now(), window.durationMs);
      await this.counters.add(`authfail:${ip}:${window.durationMs}:${position.index}`, 1, window.durationMs);
    }
  }

  /** Counts the request against every limit that applies, and reserves its tokens and cost. */
  async admit(subject: LimitSubject, tokens: TokenRequest | undefined): Promise<Admission> {
    const headers: LimitHeaders = {};
    const requestLimits = this.list.requestLimits(subject);
    const takenRequests = await this.take(
      requestLimits.map((limit) => ({ limit, points: 1 })),
      headers,
    );
    if (!tokens) return { headers, settle: async () => undefined };
    const budgets = this.list.budgetLimits(subject, this.clock.now());
    let taken: Taken[];
    try {
      taken = await this.reserve(subject, tokens, tokens.promptTokens, budgets, headers);
    } catch (err) {
      const atTheMargin =
        err instanceof AifdError && (err.code === 'tokens_limit_exceeded' || err.code === 'budget_exceeded');
      try {
        if (!atTheMargin || !tokens.exactPromptTokens) throw err;
        const exact = await exactOr(tokens.exactPromptTokens, tokens.promptTokens);
        if (exact >= tokens.promptTokens) throw err;
        taken = await this.reserve(subject, tokens, exact, budgets, headers);
      } catch (refusal) {
        await this.giveBack(takenRequests);
        throw refusal;
      }
    }
    let settled = false;
    return {
      headers,
      settle: async (usage, model) => {
        if (settled) return;
        settled = true;
        if (usage) this.learnOutput(model ?? tokens.model, usage.completion_tokens);
        const actualCost = usage ? (this.microUsd(model ?? tokens.model, usage) ?? 0) : 0;
        for (const entry of taken) {
          const actual = entry.limit.dimension === 'budget' ? actualCost : (usage?.total_tokens ?? 0);
          await this.adjust(entry, actual);
        }
      },
    };
  }

  /**
   * Counts a session as one request and lets it open only while its token limits and budgets have
   * something left; what it uses is charged per response (`charge`), as nobody knows its size ahead.
   */
  async admitSession(subject: LimitSubject, model: string | undefined): Promise<SessionAdmission> {
    const headers: LimitHeaders = {};
    const takenRequests = await this.take(
      this.list.requestLimits(subject).map((limit) => ({ limit, points: 1 })),
      headers,
    );
    const tokenLimits = this.list.tokenLimits(subject);
    // A budget counts per calendar period: each response goes to the period it ends in, not the one the session began in.
    const budgetsNow = () => this.list.budgetLimits(subject, this.clock.now());
    const budgets = budgetsNow();
    try {
      if (
        budgets.length > 0 &&
        this.config.budgets!.unpriced === 'deny' &&
        this.microUsd(model, ONE_TOKEN) === undefined
      )
        throw unpricedRefusal(model, budgets[0]!.name);
      // One point of each: a limit with nothing left refuses the handshake; the point goes back at once.
      await this.giveBack(
        await this.take(
          [...tokenLimits, ...budgets].map((limit) => ({ limit, points: 1 })),
          headers,
        ),
      );
    } catch (refusal) {
      await this.giveBack(takenRequests);
      throw refusal;
    }
    return {
      headers,
      settle: async () => undefined,
      charge: async (usage, responseModel) => {
        const cost = this.microUsd(responseModel ?? model, usage);
        let refusal: AifdError | undefined;
        for (const limit of tokenLimits) refusal = (await this.charged(limit, usage.total_tokens)) ?? refusal;
        if (cost !== undefined)
          for (const limit of budgetsNow()) refusal = (await this.charged(limit, cost)) ?? refusal;
        return refusal;
      },
    };
  }

  /** Adds what was used to one counter; the refusal when that leaves nothing. */
  private async charged(limit: CounterLimit, points: number): Promise<AifdError | undefined> {
    const now = this.clock.now();
    const place = this.placement(limit, now);
    const { counted } = await this.held(limit, place, await this.counters.add(place.key, points, place.ttlMs));
    this.noteSoftShare(limit, place.key, counted);
    if (counted < limit.limit) return undefined;
    const waitMs = place.endsAt - now;
    return this.refusal(codeFor(limit), usedUpMessage(limit), waitMs, headersFor(limit, 0, waitMs));
  }

  /** Takes a request's tokens and cost from its token limits and budgets, all or none. */
  private reserve(
    subject: LimitSubject,
    tokens: TokenRequest,
    promptTokens: number,
    budgets: CounterLimit[],
    headers: LimitHeaders,
  ): Promise<Taken[]> {
    const reservedTokens = promptTokens + (tokens.maxTokens ?? this.typicalOutputFor(tokens.model));
    const audio = Math.min(promptTokens, tokens.audioPromptTokens ?? 0);
    const reservedCost = this.microUsd(tokens.model, {
      prompt_tokens: promptTokens,
      audio_prompt_tokens: audio,
      completion_tokens: reservedTokens - promptTokens,
    });
    if (reservedCost === undefined && budgets.length > 0 && this.config.budgets!.unpriced === 'deny') {
      return Promise.reject(unpricedRefusal(tokens.model, budgets[0]!.name));
    }
    const reservations = [
      ...this.list.tokenLimits(subject).map((limit) => ({ limit, points: reservedTokens })),
      ...(reservedCost === undefined ? [] : budgets.map((limit) => ({ limit, points: reservedCost }))),
    ];
    // A refused attempt leaves no trace in the caller's headers; the one that is taken writes them.
    const own: LimitHeaders = {};
    return this.take(reservations, own).then((taken) => {
      Object.assign(headers, own);
      return taken;
    });
  }

  /**
   * How close a user is to their own limits: the largest share used of their request limit, token
   * limit or budget (for the live view). Undefined when none applies.
   */
  async userShare(user: string): Promise<{ limit: string; share: number } | undefined> {
    const subject: LimitSubject = { user, roles: [], ip: '', anonymous: false, path: '' };
    const own = [
      ...this.list.requestLimits(subject).filter((limit) => limit.key.startsWith('req:user:')),
      ...this.list.tokenLimits(subject).filter((limit) => limit.key.startsWith('tok:user:')),
      ...this.list.budgetLimits(subject, this.clock.now()),
    ];
    let best: { limit: string; share: number } | undefined;
    for (const limit of own) {
      const now = this.clock.now();
      const place = this.placement(limit, now);
      const { counted } = await this.held(limit, place, await this.counters.get(place.key));
      const share = counted / limit.limit;
      if (!best || share > best.share)
        best = {
          limit: limit.dimension === 'budget' ? limit.name : `${limit.name} ${limit.dimension}`,
          share: Math.round(share * 1000) / 1000,
        };
    }
    return best;
  }

  private async take(wanted: { limit: CounterLimit; points: number }[], headers: LimitHeaders): Promise<Taken[]> {
    const taken: Taken[] = [];
    for (const { limit, points } of wanted) {
      const now = this.clock.now();
      const place = this.placement(limit, now);
      const { key, position, durationMs } = place;
      const total = await this.counters.add(key, points, place.ttlMs);
      const { previous, counted } = await this.held(limit, place, total);
      if (counted > limit.limit) {
        await this.counters.remove(key, points);
        await this.giveBack(taken);
        const waitMs =
          limit.window.kind === 'rate'
            ? msUntilFits(this.strategy, limit.limit, points, previous, total - points, position!, durationMs!)
            : place.endsAt - now;
        throw this.refusal(
          codeFor(limit),
          messageFor(limit, points),
          waitMs,
          headersFor(limit, limit.limit - (counted - points), waitMs),
        );
      }
      taken.push({ limit, key, points });
      this.noteSoftShare(limit, key, counted);
      mergeHeaders(headers, limit, limit.limit - counted, place.endsAt - now);
    }
    return taken;
  }

  /** Tells (for alerts) when a budget has passed its soft share. */
  private noteSoftShare(limit: CounterLimit, key: string, counted: number): void {
    if (limit.dimension === 'budget' && limit.soft !== undefined && counted >= limit.soft * limit.limit)
      this.onSoftLimit?.(limit.name, key, counted / limit.limit);
  }

  /** What a limit holds against its bound, given its current window's total (and, moving, the previous one's). */
  private async held(
    limit: CounterLimit,
    place: ReturnType<Limits['placement']>,
    current: number,
  ): Promise<{ previous: number; counted: number }> {
    if (limit.window.kind !== 'rate') return { previous: 0, counted: current };
    const previous =
      place.previousKey && this.strategy === 'moving-window' ? await this.counters.get(place.previousKey) : 0;
    return { previous, counted: effectiveCount(this.strategy, previous, current, place.position!.fraction) };
  }

  private placement(limit: CounterLimit, now: number) {
    if (limit.window.kind === 'period')
      return {
        key: limit.key,
        ttlMs: limit.window.endsAt - now + 60_000,
        /** When the counter's window or period ends. */
        endsAt: limit.window.endsAt,
        previousKey: undefined,
        position: undefined,
        durationMs: undefined,
      };
    const durationMs = limit.window.durationMs;
    const position = windowAt(now, durationMs);
    return {
      key: `${limit.key}:${durationMs}:${position.index}`,
      previousKey: `${limit.key}:${durationMs}:${position.index - 1}`,
      ttlMs: position.endsAt - now + durationMs,
      endsAt: position.endsAt,
      position,
      durationMs,
    };
  }

  private async adjust(entry: Taken, actual: number): Promise<void> {
    const difference = Math.round(actual) - entry.points;
    if (difference < 0) await this.counters.remove(entry.key, -difference);
    else if (difference > 0) {
      const ttlMs =
        entry.limit.window.kind === 'period'
          ? entry.limit.window.endsAt - this.clock.now() + 60_000
          : entry.limit.window.durationMs * 2;
      await this.counters.add(entry.key, difference, ttlMs);
    }
  }

  private async giveBack(taken: Taken[]): Promise<void> {
    for (const entry of taken) await this.counters.remove(entry.key, entry.points);
  }

  private microUsd(model: string | undefined, usage: PricedUsage): number | undefined {
    if (!model) return undefined;
    const cost = costOf(this.prices, model, usage);
    return cost === undefined ? undefined : Math.ceil(cost * MICRO_USD);
  }

  private typicalOutputFor(model: string | undefined): number {
    return Math.ceil(this.typicalOutput.get(model ?? '') ?? this.config.typicalOutputTokens);
  }

  /** A running average of answers' length per model, for requests without max_tokens. */
  private learnOutput(model: string | undefined, completionTokens: number): void {
    const key = model ?? '';
    const before = this.typicalOutput.get(key) ?? this.config.typicalOutputTokens;
    this.typicalOutput.set(key, before * 0.9 + completionTokens * 0.1);
  }

  private refusal(code: ErrorCode, message: string, waitMs: number, headers: LimitHeaders): AifdError {
    return new AifdError(code, message, { retryAfterSec: Math.max(1, Math.ceil(waitMs / 1000)), headers });
  }
}

const ONE_TOKEN: PricedUsage = { prompt_tokens: 1, completion_tokens: 0 };

/** The exact count, or the bound when it cannot be had (the counting thread failed). */
async function exactOr(exact: () => Promise<number>, bound: number): Promise<number> {
  try {
    return await exact();
  } catch {
    return bound;
  }
}
