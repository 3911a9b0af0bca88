/**
 * The keys of one upstream and what we know of each: pure selection and a small state machine,
 * driven by a clock so that tests move time instead of sleeping.
 *
 * Selection: among usable keys that may serve the model, the least load (in-flight per weight,
 * raised for keys whose rate-limit budget is nearly spent), then the fuller budget, then the one
 * least used lately (per weight). Linear in the pool size: 1,000 keys cost microseconds.
 */
import { EventEmitter } from 'node:events';
import type { PoolKeyConfig } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import { anyGlobMatch } from '../util/glob.js';
import type { KeyVerdict } from './classify.js';
import {
  DEFAULT_TIMINGS,
  freshState,
  toPoolKey,
  type KeyState,
  type KeyStatus,
  type Lease,
  type Outcome,
  type PoolKey,
  type PoolTimings,
} from './key-state.js';
import type { RateLimitSnapshot } from './ratelimit-headers.js';

// The key and its state are the pool's vocabulary: whoever imports the pool gets them here too.
export * from './key-state.js';

const RECENT_HALF_LIFE_MS = 60_000;
/** Below this share of its budget a key starts getting less traffic. */
const LOW_BUDGET = 0.1;

/**
 * Events: 'status' (key, state, origin) when a key's status changes — origin 'remote' when another
 * instance changed it; 'available' when a key may have become
 * usable (a lease returned, a probe ended, a check restored it) so that waiters try again.
 */
export class KeyPool extends EventEmitter {
  readonly keys: readonly PoolKey[];
  private readonly states = new Map<string, KeyState>();

  constructor(
    entries: readonly PoolKeyConfig[],
    private readonly clock: Clock,
    private readonly timings: PoolTimings = DEFAULT_TIMINGS,
  ) {
    super();
    this.keys = entries.map(toPoolKey);
    const now = clock.now();
    for (const key of this.keys) this.states.set(key.hash, freshState(now));
  }

  get size(): number {
    return this.keys.length;
  }

  state(hash: string): KeyState {
    const state = this.states.get(hash);
    if (!state) throw new Error(`no key ${hash} in this pool`);
    return state;
  }

  /** Restores what a previous run stored (status, counters, last error); in-flight starts at 0. */
  restore(hash: string, saved: Partial<KeyState>): void {
    const state = this.states.get(hash);
    if (!state) return;
    Object.assign(state, saved, { inFlight: 0, probing: false });
  }

  /**
   * Takes a status another instance found (through the shared store) when it is newer than ours:
   * a key revoked, over quota or cooling there is out here too, and back when it is back there.
   */
  adopt(
    hash: string,
    seen: Pick<KeyState, 'status' | 'statusAt' | 'reason' | 'until' | 'probeAfterCooling' | 'consecutiveFailures'>,
  ): void {
    const key = this.keys.find((candidate) => candidate.hash === hash);
    const state = this.states.get(hash);
    if (!key || !state || !(seen.statusAt > state.statusAt)) return;
    Object.assign(state, {
      status: seen.status,
      statusAt: seen.statusAt,
      reason: seen.reason,
      until: seen.until,
      probeAfterCooling: seen.probeAfterCooling,
      consecutiveFailures: seen.consecutiveFailures,
    });
    this.emit('status', key, state, 'remote');
    if (seen.status === 'ok') this.emit('available');
  }

  /** Picks the best key now, or undefined when none is usable for `model` outside `exclude`. */
  acquire(model: string | undefined, exclude: ReadonlySet<string>): Lease | undefined {
    const now = this.clock.now();
    let best: PoolKey | undefined;
    let bestState: KeyState | undefined;
    let bestLoad = Infinity;
    let bestBudget = -1;
    let bestRecent = Infinity;
    let bestIsProbe = false;
    for (const key of this.keys) {
      if (exclude.has(key.hash) || !servesModel(key, model)) continue;
      const state = this.states.get(key.hash)!;
      const usable = this.usability(state, now);
      if (usable === 'no') continue;
      const budget = budgetShare(state, now);
      // In-flight per weight; ties (as with one-at-a-time traffic) go to the key least used lately
      // per weight, which keeps weights honoured. A nearly spent budget counts as extra load.
      const load =
        budget < LOW_BUDGET
          ? (state.inFlight + 1) / key.weight / Math.max(budget / LOW_BUDGET, 0.05)
          : state.inFlight / key.weight;
      const recent = decayed(state, now) / key.weight;
      if (
        load < bestLoad ||
        (load === bestLoad && (budget > bestBudget || (budget === bestBudget && recent < bestRecent)))
      ) {
        best = key;
        bestState = state;
        bestLoad = load;
        bestBudget = budget;
        bestRecent = recent;
        bestIsProbe = usable === 'probe';
      }
    }
    if (!best || !bestState) return undefined;
    bestState.inFlight++;
    bestState.requests++;
    bestState.recent = decayed(bestState, now) + 1;
    bestState.recentAt = now;
    bestState.lastUsedAt = now;
    if (bestIsProbe) bestState.probing = true;
    return { key: best, probe: bestIsProbe };
  }

  /** Returns a lease with what the upstream said; the key's state follows the verdict. */
  release(lease: Lease, outcome: Outcome | undefined): void {
    const state = this.state(lease.key.hash);
    const now = this.clock.now();
    state.inFlight = Math.max(0, state.inFlight - 1);
    if (lease.probe) state.probing = false;
    if (outcome?.rateLimit) this.learn(state, outcome.rateLimit, now);
    if (outcome) this.judge(lease.key, state, outcome, now);
    this.emit('available');
  }

  /** Adds token usage to a key's counters (from usage accounting). */
  addTokens(hash: string, promptTokens: number, completionTokens: number): void {
    const state = this.states.get(hash);
    if (!state) return;
    state.promptTokens += promptTokens;
    state.completionTokens += completionTokens;
  }

  /** Sets a key's status from a check: ok restores it at once. */
  setChecked(hash: string, verdict: KeyVerdict, detail: string | undefined): void {
    const state = this.states.get(hash);
    const key = this.keys.find((candidate) => candidate.hash === hash);
    if (!state || !key) return;
    const now = this.clock.now();
    if (verdict === 'ok') {
      this.setStatus(key, state, 'ok', undefined, undefined);
      state.consecutiveFailures = 0;
      this.emit('available');
      return;
    }
    this.judge(key, state, { verdict, error: detail }, now);
  }

  /**
   * When the soonest key that could serve `model` may be usable again: now if one is, Infinity if
   * none ever will be without a check (all revoked).
   */
  nextAvailableAt(model: string | undefined, exclude: ReadonlySet<string>): number {
    const now = this.clock.now();
    let soonest = Infinity;
    for (const key of this.keys) {
      if (exclude.has(key.hash) || !servesModel(key, model)) continue;
      soonest = Math.min(soonest, this.availableAt(this.states.get(key.hash)!, now));
    }
    return soonest;
  }

  /** Whether any key, excluded or not, could ever serve `model`. */
  hasKeyFor(model: string | undefined): boolean {
    return this.keys.some((key) => servesModel(key, model));
  }

  /** Requests per minute lately (decayed estimate). */
  requestsPerMinute(hash: string): number {
    const state = this.state(hash);
    return (decayed(state, this.clock.now()) * Math.LN2 * 60_000) / RECENT_HALF_LIFE_MS;
  }

  private usability(state: KeyState, now: number): 'yes' | 'probe' | 'no' {
    switch (state.status) {
      case 'revoked':
        return 'no';
      case 'over_quota':
      case 'cooling':
        if (state.until !== undefined && now < state.until) return 'no';
        if (state.status === 'over_quota' || state.probeAfterCooling) return state.probing ? 'no' : 'probe';
        return exhausted(state, now) ? 'no' : 'yes';
      case 'ok':
        return exhausted(state, now) ? 'no' : 'yes';
    }
  }

  private availableAt(state: KeyState, now: number): number {
    if (state.status === 'revoked') return Infinity;
    if ((state.status === 'cooling' || state.status === 'over_quota') && state.until !== undefined && now < state.until)
      return state.until;
    if (state.probing) return now;
    let at = now;
    if (state.remainingRequests === 0 && state.requestsResetAt !== undefined && now < state.requestsResetAt)
      at = Math.max(at, state.requestsResetAt);
    if (state.remainingTokens === 0 && state.tokensResetAt !== undefined && now < state.tokensResetAt)
      at = Math.max(at, state.tokensResetAt);
    return at;
  }

  private learn(state: KeyState, snapshot: RateLimitSnapshot, now: number): void {
    if (snapshot.limitRequests !== undefined) state.limitRequests = snapshot.limitRequests;
    if (snapshot.limitTokens !== undefined) state.limitTokens = snapshot.limitTokens;
    if (snapshot.remainingRequests !== undefined) state.remainingRequests = snapshot.remainingRequests;
    if (snapshot.remainingTokens !== undefined) state.remainingTokens = snapshot.remainingTokens;
    if (snapshot.resetRequestsMs !== undefined) state.requestsResetAt = now + snapshot.resetRequestsMs;
    if (snapshot.resetTokensMs !== undefined) state.tokensResetAt = now + snapshot.resetTokensMs;
  }

  private judge(key: PoolKey, state: KeyState, outcome: Outcome, now: number): void {
    if (outcome.verdict !== 'ok') {
      state.lastError = outcome.error ?? outcome.verdict;
      state.lastErrorAt = now;
    }
    switch (outcome.verdict) {
      case 'ok':
        state.consecutiveFailures = 0;
        if (state.status !== 'ok') this.setStatus(key, state, 'ok', undefined, undefined);
        return;
      case 'revoked':
        this.setStatus(key, state, 'revoked', 'upstream answered 401 (invalid or revoked key)', undefined);
        return;
      case 'over_quota':
        this.setStatus(
          key,
          state,
          'over_quota',
          'upstream answered insufficient_quota',
          now + this.timings.overQuotaRecheckMs,
        );
        return;
      case 'rate_limited': {
        const wait = outcome.retryAfterMs ?? resetWait(state, now) ?? this.timings.defaultRateLimitCooldownMs;
        state.probeAfterCooling = false;
        this.setStatus(key, state, 'cooling', 'rate limited upstream (429)', now + Math.min(wait, 10 * 60_000));
        return;
      }
      case 'server_error':
      case 'unreachable': {
        state.consecutiveFailures++;
        const wait = Math.min(
          this.timings.failureCooldownMs * 2 ** (state.consecutiveFailures - 1),
          this.timings.maxFailureCooldownMs,
        );
        state.probeAfterCooling = true;
        const reason = outcome.verdict === 'server_error' ? 'upstream server errors' : 'upstream unreachable';
        this.setStatus(key, state, 'cooling', `${reason} (${state.consecutiveFailures} in a row)`, now + wait);
        return;
      }
    }
  }

  private setStatus(
    key: PoolKey,
    state: KeyState,
    status: KeyStatus,
    reason: string | undefined,
    until: number | undefined,
  ): void {
    const changed = state.status !== status || state.until !== until;
    if (changed) state.statusAt = Math.max(this.clock.now(), state.statusAt + 1);
    state.status = status;
    state.reason = reason;
    state.until = until;
    if (status === 'ok') state.probeAfterCooling = false;
    if (changed) this.emit('status', key, state);
  }
}

function servesModel(key: PoolKey, model: string | undefined): boolean {
  if (!key.models) return true;
  // A request without a model (files, models list) may use any key.
  return model === undefined || anyGlobMatch(key.models, model);
}

function exhausted(state: KeyState, now: number): boolean {
  return (
    (state.remainingRequests === 0 && state.requestsResetAt !== undefined && now < state.requestsResetAt) ||
    (state.remainingTokens === 0 && state.tokensResetAt !== undefined && now < state.tokensResetAt)
  );
}

/** The smaller share left of the request and token budgets, 1 when unknown or already reset. */
function budgetShare(state: KeyState, now: number): number {
  let share = 1;
  if (state.limitRequests && state.remainingRequests !== undefined && (state.requestsResetAt ?? 0) > now) {
    share = Math.min(share, state.remainingRequests / state.limitRequests);
  }
  if (state.limitTokens && state.remainingTokens !== undefined && (state.tokensResetAt ?? 0) > now) {
    share = Math.min(share, state.remainingTokens / state.limitTokens);
  }
  return share;
}

function resetWait(state: KeyState, now: number): number | undefined {
  const waits: number[] = [];
  if (state.remainingRequests === 0 && state.requestsResetAt !== undefined) waits.push(state.requestsResetAt - now);
  if (state.remainingTokens === 0 && state.tokensResetAt !== undefined) waits.push(state.tokensResetAt - now);
  if (waits.length === 0) return undefined;
  return Math.max(0, ...waits);
}

function decayed(state: KeyState, now: number): number {
  const elapsed = now - state.recentAt;
  return elapsed <= 0 ? state.recent : state.recent * 0.5 ** (elapsed / RECENT_HALF_LIFE_MS);
}
