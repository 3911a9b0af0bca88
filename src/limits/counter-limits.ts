/**
 * Which counters apply to a caller: request limits, token limits and budgets, each as a counter key
 * with its bound and window, from the limits config. Pure: no counter is read here.
 */
import type { BudgetConfig, LimitsConfig } from '../config/schema.js';
import { parseRateString, type RateWindow } from '../config/rate-string.js';
import { periodAt, type Period } from '../util/calendar.js';
import { MICRO_USD, type CounterLimit } from './limit-answers.js';
import { callerKey, routeRate, type LimitSubject } from './limit-subject.js';

export class CounterLimits {
  private readonly parsed = new Map<string, RateWindow[]>();

  constructor(private readonly config: LimitsConfig) {}

  /** Adds to `out` a counter for each window of a rate string (`100/minute;1000/day`), if there is one. */
  private rateLimitsInto(out: CounterLimit[], dimension: 'requests' | 'tokens') {
    return (name: string, key: string, text: string | undefined) => {
      if (!text) return;
      for (const window of this.windows(text)) {
        out.push({
          name,
          key,
          limit: window.points,
          window: { kind: 'rate', durationMs: window.durationMs },
          dimension,
        });
      }
    };
  }

  requestLimits(subject: LimitSubject): CounterLimit[] {
    const out: CounterLimit[] = [];
    const add = this.rateLimitsInto(out, 'requests');
    add('global', 'req:global', this.config.global);
    const shared = routeRate(this.config.routes, subject);
    if (shared) add(`route ${shared.route}`, `req:route:${shared.route}`, shared.rate);
    const own = routeRate(this.config.routesPerUser, subject);
    if (own) add(`route ${own.route} (per caller)`, `req:route:${own.route}:${callerKey(subject)}`, own.rate);
    if (subject.anonymous || this.config.ipAppliesTo === 'all')
      add(`address ${subject.ip}`, `req:ip:${subject.ip}`, this.config.ip);
    if (subject.user !== undefined && !subject.anonymous) {
      add(`user ${subject.user}`, `req:user:${subject.user}`, this.config.user?.requests);
      for (const role of subject.roles)
        add(`role ${role}`, `req:role:${role}:${subject.user}`, this.config.roles?.[role]?.requests);
    }
    if (subject.claims?.requests) add('token', `req:token:${subject.claims.id}`, subject.claims.requests);
    return out;
  }

  tokenLimits(subject: LimitSubject): CounterLimit[] {
    const out: CounterLimit[] = [];
    const who = callerKey(subject);
    const add = this.rateLimitsInto(out, 'tokens');
    add(`user ${subject.user ?? subject.ip}`, `tok:${who}`, this.config.user?.tokens);
    for (const role of subject.roles) add(`role ${role}`, `tok:role:${role}:${who}`, this.config.roles?.[role]?.tokens);
    if (subject.claims?.tokens) add('token', `tok:token:${subject.claims.id}`, subject.claims.tokens);
    return out;
  }

  budgetLimits(subject: LimitSubject, now: number): CounterLimit[] {
    const budgets = this.config.budgets;
    if (!budgets || subject.user === undefined) return [];
    const out: CounterLimit[] = [];
    const add = (name: string, key: string, spec: BudgetConfig | undefined) => {
      if (!spec) return;
      for (const period of ['daily', 'weekly', 'monthly'] as Period[]) {
        const amount = spec[period];
        if (amount === undefined) continue;
        const position = periodAt(period, now, budgets.timezone);
        out.push({
          name: `${name} ${period} budget`,
          key: `usd:${key}:${position.label}`,
          limit: Math.round(amount * MICRO_USD),
          window: { kind: 'period', endsAt: position.endsAt },
          dimension: 'budget',
          soft: spec.soft,
        });
      }
    };
    add(`user ${subject.user}`, `user:${subject.user}`, budgets.users?.[subject.user] ?? budgets.users?.['*']);
    for (const role of subject.roles) add(`role ${role}`, `role:${role}:${subject.user}`, budgets.roles?.[role]);
    return out;
  }

  windows(text: string): RateWindow[] {
    let windows = this.parsed.get(text);
    if (!windows) this.parsed.set(text, (windows = parseRateString(text)));
    return windows;
  }
}
