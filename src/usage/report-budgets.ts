/**
 * Each user's budgets in the usage report, and how much of each is used in its period as of the
 * report's end: spend added up from the access records the way limits settle it (the answer's
 * usage at the model's price; a cache hit costs nothing). Role budgets are left out: records do
 * not name the caller's roles.
 */
import type { BudgetConfig, LimitsConfig } from '../config/schema.js';
import { periodAt, type Period } from '../util/calendar.js';
import type { AccessRecord } from '../logs/access-record.js';
import { billedCost, type PriceTable } from './prices.js';

const PERIODS: readonly Period[] = ['daily', 'weekly', 'monthly'];
/** Rows listed at most (the most used first): a `*` budget gives every user a row per period. */
const MAX_ROWS = 200;

export interface BudgetUse {
  user: string;
  period: Period;
  limitUsd: number;
  spentUsd: number;
  /** spentUsd ÷ limitUsd. */
  share: number;
  /** The period's bounds (ISO). */
  startsAt: string;
  endsAt: string;
}

interface PeriodWindow {
  period: Period;
  startsAt: number;
  endsAt: number;
}

export class BudgetTally {
  /** The earliest period start: records from here on count (undefined: no user budgets). */
  readonly from: Date | undefined;
  private readonly windows: PeriodWindow[];
  /** user → period → USD spent. */
  private readonly spent = new Map<string, Map<Period, number>>();

  constructor(
    private readonly budgets: LimitsConfig['budgets'],
    private readonly prices: PriceTable,
    private readonly at: Date,
  ) {
    const users = budgets?.users ?? {};
    const periods = PERIODS.filter((period) => Object.values(users).some((budget) => budget[period] !== undefined));
    this.windows = periods.map((period) => {
      const { startsAt, endsAt } = periodAt(period, at.getTime(), budgets!.timezone);
      return { period, startsAt, endsAt };
    });
    this.from = this.windows.length > 0 ? new Date(Math.min(...this.windows.map((w) => w.startsAt))) : undefined;
    for (const user of Object.keys(users)) if (user !== '*') this.spent.set(user, new Map());
  }

  add(record: AccessRecord): void {
    if (!this.from || record.user === null) return;
    const budget = this.budgetOf(record.user);
    if (!budget) return;
    const at = Date.parse(record.ts);
    if (!(at >= this.from.getTime() && at < this.at.getTime())) return;
    const cost = billedCost(this.prices, record) ?? 0;
    let byPeriod = this.spent.get(record.user);
    if (!byPeriod) this.spent.set(record.user, (byPeriod = new Map()));
    for (const window of this.windows)
      if (budget[window.period] !== undefined && at >= window.startsAt)
        byPeriod.set(window.period, (byPeriod.get(window.period) ?? 0) + cost);
  }

  build(): BudgetUse[] {
    const rows: BudgetUse[] = [];
    for (const [user, byPeriod] of this.spent) {
      const budget = this.budgetOf(user)!;
      for (const window of this.windows) {
        const limitUsd = budget[window.period];
        if (limitUsd === undefined) continue;
        const spentUsd = byPeriod.get(window.period) ?? 0;
        rows.push({
          user,
          period: window.period,
          limitUsd,
          spentUsd,
          share: spentUsd / limitUsd,
          startsAt: new Date(window.startsAt).toISOString(),
          endsAt: new Date(window.endsAt).toISOString(),
        });
      }
    }
    rows.sort((a, b) => b.share - a.share || a.user.localeCompare(b.user) || a.period.localeCompare(b.period));
    return rows.slice(0, MAX_ROWS);
  }

  private budgetOf(user: string): BudgetConfig | undefined {
    return this.budgets?.users?.[user] ?? this.budgets?.users?.['*'];
  }
}
