/**
 * Whether the shared store (Redis) can be reached. Each connection to it reports when it drops
 * and when it is ready again; the store is up when all of them are. An outage is announced once
 * when it starts and once when it ends ('down' / 'up' events), however many requests it touches.
 */
import { EventEmitter } from 'node:events';

export interface StoreOutage {
  /** Epoch milliseconds when the store became unreachable. */
  since: number;
  reason: string;
}

export class StoreHealth extends EventEmitter {
  private readonly broken = new Map<string, string>();
  private outage: StoreOutage | undefined;
  private outagesSeen = 0;

  get up(): boolean {
    return this.outage === undefined;
  }

  /** The current outage, if the store is down. */
  get current(): StoreOutage | undefined {
    return this.outage;
  }

  /** Outages since start (a counter for metrics). */
  get outages(): number {
    return this.outagesSeen;
  }

  /** A connection named `connection` failed (an error, a closed socket). */
  failed(connection: string, reason: string): void {
    this.broken.set(connection, reason);
    if (this.outage) return;
    this.outage = { since: Date.now(), reason };
    this.outagesSeen++;
    this.emit('down', this.outage);
  }

  /** A connection is ready (again). */
  ready(connection: string): void {
    if (!this.broken.delete(connection) || this.broken.size > 0 || !this.outage) return;
    const ended = this.outage;
    this.outage = undefined;
    this.emit('up', ended);
  }
}
