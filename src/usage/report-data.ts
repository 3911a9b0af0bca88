/**
 * What the usage report shows, built from access records one at a time (memory grows with days,
 * users and models, not with requests): spend and tokens per day by user (the ten who spent most,
 * the rest as "others") and by model, requests, errors by code and latency per day, and the latest
 * requests.
 */
import type { AccessRecord } from '../logs/access-record.js';
import { billedCost, type PriceTable } from './prices.js';
import type { BudgetTally, BudgetUse } from './report-budgets.js';

/** Users drawn on their own; the rest are added up as "others". */
const TOP_USERS = 10;
/** Requests listed in the report's table, the newest. */
const LATEST = 500;

export interface SeriesByDay {
  name: string;
  /** Per day of `days`, in the same order. */
  costUsd: number[];
  tokens: number[];
  requests: number;
}

interface DayFigures {
  day: string;
  requests: number;
  errors: number;
  /** Errors by aifd's or the upstream's code (or the status, when there is no code). */
  errorsByCode: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  /** Time to the first byte of the answer, the median (null when no answer had one). */
  ttfbP50Ms: number | null;
}

export interface LatestRequest {
  ts: string;
  user: string;
  model: string;
  status: number | null;
  path: string;
  tokens: number;
  costUsd: number | null;
  durationMs: number;
  error: string | null;
}

/** What the report's first charts are stacked by (`--by`). */
export type ReportDimension = 'user' | 'model' | 'key';

export interface ReportData {
  since: string;
  until: string;
  days: string[];
  by: ReportDimension;
  users: SeriesByDay[];
  models: SeriesByDay[];
  /** By pool key hash (the ten that served the most spend, the rest as "others"). */
  keys: SeriesByDay[];
  perDay: DayFigures[];
  latest: LatestRequest[];
  totals: { requests: number; errors: number; costUsd: number; tokens: number; unpricedRequests: number };
  /** Each user budget's use in its period as of `until`; undefined when no user has a budget. */
  budgets: BudgetUse[] | undefined;
  /** Lines of the source that were not records. */
  skipped: number;
}

interface DayAccumulator {
  requests: number;
  errors: number;
  errorsByCode: Map<string, number>;
  durations: number[];
  ttfbs: number[];
}

export class ReportBuilder {
  private readonly days = new Map<string, DayAccumulator>();
  /** Per user, then per model: day → [cost, tokens], and requests. */
  private readonly users = new Map<string, { byDay: Map<string, [number, number]>; requests: number }>();
  private readonly models = new Map<string, { byDay: Map<string, [number, number]>; requests: number }>();
  private readonly keys = new Map<string, { byDay: Map<string, [number, number]>; requests: number }>();
  private readonly latest: LatestRequest[] = [];
  private readonly totals = { requests: 0, errors: 0, costUsd: 0, tokens: 0, unpricedRequests: 0 };
  skipped = 0;

  constructor(
    private readonly prices: PriceTable,
    private readonly since: Date,
    private readonly until: Date,
    /** Users' budgets, which may count records from before `since` (a month's budget in a week's report). */
    private readonly budgets?: BudgetTally,
    private readonly by: ReportDimension = 'user',
  ) {}

  add(record: AccessRecord): void {
    this.budgets?.add(record);
    const at = Date.parse(record.ts);
    if (!(at >= this.since.getTime() && at < this.until.getTime())) return;
    const day = record.ts.slice(0, 10);
    const user = record.user ?? '(anonymous)';
    const model = record.model ?? '(none)';
    const tokens = record.usage?.total_tokens ?? 0;
    const cost = billedCost(this.prices, record);
    const failed = record.error !== null || (record.status ?? 0) >= 400;

    const figures = this.dayFor(day);
    figures.requests++;
    figures.durations.push(record.durationMs);
    if (record.ttfbMs !== null) figures.ttfbs.push(record.ttfbMs);
    if (failed) {
      figures.errors++;
      const code = record.error ?? String(record.status);
      figures.errorsByCode.set(code, (figures.errorsByCode.get(code) ?? 0) + 1);
    }
    addTo(this.users, user, day, cost ?? 0, tokens);
    addTo(this.models, model, day, cost ?? 0, tokens);
    addTo(this.keys, record.key ?? '(none)', day, cost ?? 0, tokens);
    this.totals.requests++;
    if (failed) this.totals.errors++;
    this.totals.costUsd += cost ?? 0;
    this.totals.tokens += tokens;
    if (cost === undefined) this.totals.unpricedRequests++;

    this.latest.push({
      ts: record.ts,
      user,
      model,
      status: record.status,
      path: record.path,
      tokens,
      costUsd: cost ?? null,
      durationMs: record.durationMs,
      error: record.error,
    });
    if (this.latest.length > LATEST * 2) this.latest.splice(0, this.latest.length - LATEST);
  }

  build(): ReportData {
    const days = [...this.days.keys()].sort();
    const series = (source: typeof this.users, top: number) => {
      const all = [...source.entries()].map(([name, entry]) => ({
        name,
        costUsd: days.map((day) => entry.byDay.get(day)?.[0] ?? 0),
        tokens: days.map((day) => entry.byDay.get(day)?.[1] ?? 0),
        requests: entry.requests,
      }));
      const spent = (one: SeriesByDay) => one.costUsd.reduce((sum, value) => sum + value, 0);
      all.sort((a, b) => spent(b) - spent(a) || b.requests - a.requests || a.name.localeCompare(b.name));
      if (all.length <= top) return all;
      const rest = all.slice(top);
      const others: SeriesByDay = {
        name: `others (${rest.length})`,
        costUsd: days.map((_, i) => rest.reduce((sum, one) => sum + one.costUsd[i]!, 0)),
        tokens: days.map((_, i) => rest.reduce((sum, one) => sum + one.tokens[i]!, 0)),
        requests: rest.reduce((sum, one) => sum + one.requests, 0),
      };
      return [...all.slice(0, top), others];
    };
    const latest = this.latest
      .sort((a, b) => a.ts.localeCompare(b.ts))
      .slice(-LATEST)
      .reverse();
    return {
      since: this.since.toISOString(),
      until: this.until.toISOString(),
      days,
      by: this.by,
      users: series(this.users, TOP_USERS),
      models: series(this.models, Number.MAX_SAFE_INTEGER),
      keys: series(this.keys, TOP_USERS),
      perDay: days.map((day) => {
        const figures = this.days.get(day)!;
        return {
          day,
          requests: figures.requests,
          errors: figures.errors,
          errorsByCode: Object.fromEntries(figures.errorsByCode),
          p50Ms: percentile(figures.durations, 0.5) ?? 0,
          p99Ms: percentile(figures.durations, 0.99) ?? 0,
          ttfbP50Ms: percentile(figures.ttfbs, 0.5),
        };
      }),
      latest,
      totals: { ...this.totals },
      budgets: this.budgets?.from ? this.budgets.build() : undefined,
      skipped: this.skipped,
    };
  }

  private dayFor(day: string): DayAccumulator {
    let figures = this.days.get(day);
    if (!figures) {
      figures = { requests: 0, errors: 0, errorsByCode: new Map(), durations: [], ttfbs: [] };
      this.days.set(day, figures);
    }
    return figures;
  }
}

function addTo(
  target: Map<string, { byDay: Map<string, [number, number]>; requests: number }>,
  name: string,
  day: string,
  cost: number,
  tokens: number,
): void {
  let entry = target.get(name);
  if (!entry) target.set(name, (entry = { byDay: new Map(), requests: 0 }));
  entry.requests++;
  const cell = entry.byDay.get(day);
  if (cell) {
    cell[0] += cost;
    cell[1] += tokens;
  } else entry.byDay.set(day, [cost, tokens]);
}

/** The value at `share` of the sorted values (nearest rank), or null for none. */
function percentile(values: number[], share: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}
