/**
 * Stream pacing: at most N events per window per stream, spaced evenly. The pacer only says how
 * long to wait; the relay pauses the upstream meanwhile, so nothing piles up in memory.
 */
export class Pacer {
  private nextAt = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  static perWindow(points: number, durationMs: number): Pacer {
    return new Pacer(durationMs / points);
  }

  /** Milliseconds to wait before the next event may go out (and books its slot). */
  delay(): number {
    const now = this.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    return at - now;
  }
}
