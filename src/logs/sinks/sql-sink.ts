/**
 * Request records into SQL, in batches. While the database is away records wait in a bounded
 * backlog; past it they go to a fallback JSON-lines file, so none is lost. The outage is reported
 * once, and so is the recovery.
 */
import type { AccessRecord } from '../access-record.js';
import type { Diagnostics } from '../diagnostics.js';
import type { JsonLinesFile } from '../json-lines-file.js';
import type { SqlDialect } from './dialect.js';

export interface SinkOptions {
  batchSize: number;
  flushEveryMs: number;
  maxBacklog: number;
  /** Where records go that the backlog cannot hold. */
  fallback: JsonLinesFile;
  log: Diagnostics;
}

export class SqlSink {
  private queue: AccessRecord[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private down = false;
  private prepared = false;
  /** Records written to the fallback file instead of the database. */
  spilled = 0;
  written = 0;

  constructor(
    readonly dialect: SqlDialect,
    private readonly options: SinkOptions,
  ) {}

  add(record: AccessRecord): void {
    if (this.queue.length >= this.options.maxBacklog) {
      this.options.fallback.write(JSON.stringify(record));
      this.spilled++;
      return;
    }
    this.queue.push(record);
    if (this.queue.length >= this.options.batchSize && !this.down) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushEveryMs);
  }

  get backlog(): number {
    return this.queue.length;
  }

  /** Writes what is queued; resolves when the attempt is over (successful or not). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.timer ??= setTimeout(() => void this.flush(), this.options.flushEveryMs);
    });
    return this.flushing;
  }

  /** Flushes once more; whatever the database still will not take goes to the fallback file, which is then closed. */
  async close(): Promise<void> {
    await this.flush();
    for (const record of this.queue.splice(0)) {
      this.options.fallback.write(JSON.stringify(record));
      this.spilled++;
    }
    clearTimeout(this.timer);
    await this.dialect.close().catch(() => undefined);
    await this.options.fallback.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      try {
        if (!this.prepared) {
          await this.dialect.prepare();
          this.prepared = true;
        }
        await this.dialect.insert(batch);
      } catch (err) {
        if (!this.down)
          this.options.log.warn(`the ${this.dialect.name} sink is unavailable; records wait in a backlog`, {
            error: (err as Error).message,
            backlog: this.queue.length,
          });
        this.down = true;
        return;
      }
      if (this.down) this.options.log.info(`the ${this.dialect.name} sink is back`, { backlog: this.queue.length });
      this.down = false;
      this.queue.splice(0, batch.length);
      this.written += batch.length;
    }
  }
}
