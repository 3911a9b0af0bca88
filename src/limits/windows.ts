/**
 * Window math for the two strategies, pure. Windows are aligned to the clock (window n covers
 * [n·D, (n+1)·D)), so every instance and every test agrees on where a window starts.
 *
 * - fixed-window: the count of the current window.
 * - moving-window: the sliding-window counter — the previous window's count weighted by how much
 *   of it still lies inside the last D, plus the current window's count.
 */
export type Strategy = 'fixed-window' | 'moving-window';

export interface WindowPosition {
  index: number;
  startsAt: number;
  endsAt: number;
  /** How far into the window `now` is, 0..1. */
  fraction: number;
}

export function windowAt(now: number, durationMs: number): WindowPosition {
  const index = Math.floor(now / durationMs);
  const startsAt = index * durationMs;
  return { index, startsAt, endsAt: startsAt + durationMs, fraction: (now - startsAt) / durationMs };
}

/** The count that the strategy holds against the limit. */
export function effectiveCount(strategy: Strategy, previous: number, current: number, fraction: number): number {
  return strategy === 'fixed-window' ? current : previous * (1 - fraction) + current;
}

/** Milliseconds until `points` more would fit under `limit`. */
export function msUntilFits(
  strategy: Strategy,
  limit: number,
  points: number,
  previous: number,
  current: number,
  position: WindowPosition,
  durationMs: number,
): number {
  const now = position.startsAt + position.fraction * durationMs;
  if (strategy === 'fixed-window') return position.endsAt - now;
  // Moving window: within this window the previous count fades; after it, the current one does.
  if (previous > 0 && current + points <= limit) {
    const fraction = 1 - (limit - current - points) / previous;
    return Math.max(0, position.startsAt + fraction * durationMs - now);
  }
  if (current === 0) return position.endsAt - now;
  const nextFraction = Math.max(0, 1 - (limit - points) / current);
  return Math.max(0, position.endsAt + nextFraction * durationMs - now);
}
