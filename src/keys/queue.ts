/**
 * Waiting for a key. When no key of the pool is usable now, a request waits here, bounded in time
 * and count, and goes out as soon as a key frees or resets: woken by the soonest reset time or by
 * the pool saying a key may be available, never by polling. Users are served round robin, so one
 * user's burst does not starve the others.
 */
import { EventEmitter } from 'node:events';
import { AifdError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { KeyPool, Lease } from './pool.js';

export interface QueueLimits {
  maxWaitMs: number;
  maxLength: number;
}

export interface AcquireRequest {
  model: string | undefined;
  exclude: ReadonlySet<string>;
  /** Whose request this is, for fairness between users. */
  user: string;
  /** Aborted when the client goes away: the request leaves the queue. */
  signal?: AbortSignal;
}

interface Waiter {
  request: AcquireRequest;
  deadline: number;
  resolve(lease: Lease): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  onAbort?: () => void;
}

/** Emits 'length' (n) whenever a request joins or leaves the queue. */
export class KeyQueue extends EventEmitter {
  /** One FIFO per user; `order` is the round-robin order of users with waiters. */
  private readonly byUser = new Map<string, Waiter[]>();
  private order: string[] = [];
  private waiting = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;

  constructor(
    private readonly pool: KeyPool,
    private readonly clock: Clock,
    private readonly limits: QueueLimits,
  ) {
    super();
    pool.on('available', () => this.drain());
  }

  get length(): number {
    return this.waiting;
  }

  /** A lease now, or after waiting; rejects with 429 no_key_available when none comes in time. */
  acquire(request: AcquireRequest): Promise<Lease> {
    if (this.waiting === 0) {
      const lease = this.pool.acquire(request.model, request.exclude);
      if (lease) return Promise.resolve(lease);
    }
    const now = this.clock.now();
    const availableAt = this.pool.nextAvailableAt(request.model, request.exclude);
    if (availableAt === Infinity)
      return Promise.reject(
        noKey('no key of this upstream can serve the request (all are revoked or out of quota)', undefined),
      );
    if (availableAt - now > this.limits.maxWaitMs) {
      return Promise.reject(
        noKey(
          `all keys are busy or rate limited; the next frees in ${Math.ceil((availableAt - now) / 1000)} s`,
          availableAt - now,
        ),
      );
    }
    if (this.waiting >= this.limits.maxLength)
      return Promise.reject(noKey('too many requests are waiting for a key', availableAt - now));
    return this.enqueue(request, now);
  }

  /** Rejects everyone waiting (shutdown). */
  close(): void {
    for (const waiters of this.byUser.values()) {
      for (const waiter of [...waiters]) this.remove(waiter, new AifdError('shutting_down', 'aifd is shutting down'));
    }
    clearTimeout(this.wakeTimer);
  }

  private enqueue(request: AcquireRequest, now: number): Promise<Lease> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        request,
        deadline: now + this.limits.maxWaitMs,
        resolve,
        reject,
        timer: setTimeout(() => {
          const retryAfter = this.pool.nextAvailableAt(request.model, request.exclude) - this.clock.now();
          this.remove(waiter, noKey(`no key became free within ${this.limits.maxWaitMs} ms`, retryAfter));
        }, this.limits.maxWaitMs),
      };
      if (request.signal) {
        waiter.onAbort = () =>
          this.remove(waiter, new AifdError('invalid_request', 'the client went away while waiting for a key'));
        request.signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      let list = this.byUser.get(request.user);
      if (!list) {
        this.byUser.set(request.user, (list = []));
        this.order.push(request.user);
      }
      list.push(waiter);
      this.waiting++;
      this.emit('length', this.waiting);
      this.scheduleWake();
    });
  }

  private remove(waiter: Waiter, error?: Error): void {
    const list = this.byUser.get(waiter.request.user);
    const index = list?.indexOf(waiter) ?? -1;
    if (!list || index === -1) return;
    list.splice(index, 1);
    if (list.length === 0) {
      this.byUser.delete(waiter.request.user);
      this.order = this.order.filter((user) => user !== waiter.request.user);
    }
    this.waiting--;
    this.emit('length', this.waiting);
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.request.signal?.removeEventListener('abort', waiter.onAbort);
    if (error) waiter.reject(error);
  }

  /** Serves waiters round robin by user while keys are usable. */
  private drain(): void {
    let served = true;
    while (this.waiting > 0 && served) {
      served = false;
      for (const user of [...this.order]) {
        const waiter = this.byUser.get(user)?.[0];
        if (!waiter) continue;
        const lease = this.pool.acquire(waiter.request.model, waiter.request.exclude);
        if (!lease) continue;
        this.remove(waiter);
        // The user goes to the back of the round.
        this.order = [...this.order.filter((name) => name !== user), ...(this.byUser.has(user) ? [user] : [])];
        waiter.resolve(lease);
        served = true;
      }
    }
    this.scheduleWake();
  }

  /** One timer, set for the soonest moment a key of any waiter may be usable again. */
  private scheduleWake(): void {
    let soonest = Infinity;
    for (const list of this.byUser.values()) {
      for (const waiter of list)
        soonest = Math.min(soonest, this.pool.nextAvailableAt(waiter.request.model, waiter.request.exclude));
    }
    // A key usable "now" but not acquirable is a probe in flight: its end emits 'available'.
    if (soonest <= this.clock.now()) soonest = Infinity;
    if (soonest === this.wakeAt && this.wakeTimer) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = soonest;
    if (soonest === Infinity) return;
    // A reset further off than a timer can hold wakes the queue early; it then re-arms.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, soonest - this.clock.now()));
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Infinity;
      this.drain();
    }, delay + 1);
    this.wakeTimer.unref?.();
  }
}

/** The longest delay Node's timers hold (2^31-1 ms); a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647 - 1;

function noKey(message: string, retryAfterMs: number | undefined): AifdError {
  return new AifdError('no_key_available', message, {
    retryAfterSec: Math.max(1, Math.ceil((retryAfterMs ?? 60_000) / 1000)),
  });
}
