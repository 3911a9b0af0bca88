/** One window of a rate-limit string: `points` per `durationMs`. */
export interface RateWindow {
  points: number;
  durationMs: number;
  /** The text the operator wrote, for messages and headers. */
  text: string;
}

const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
};

/**
 * Parses the contract's rate-limit syntax: `N/unit` or `N/Kunits`, several joined by `;`
 * (`60/minute;600/hour`, `100/2minutes`). Units: second, minute, hour, day, week, month (30 days);
 * these windows roll from the clock's epoch, unlike budgets' calendar periods.
 * Throws an Error whose message says what is wrong.
 */
export function parseRateString(text: string): RateWindow[] {
  const parts = text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  if (parts.length === 0) throw new Error(`"${text}" is not a rate (expected e.g. "60/minute")`);
  return parts.map((part) => {
    const match = /^(\d+)\s*\/\s*(\d*)\s*(second|minute|hour|day|week|month)s?$/i.exec(part);
    if (!match) {
      throw new Error(
        `"${part}" is not a rate (expected N/unit or N/Kunits, unit one of second, minute, hour, day, week, month)`,
      );
    }
    const points = Number(match[1]);
    const multiple = match[2] ? Number(match[2]) : 1;
    if (points <= 0 || multiple <= 0) throw new Error(`"${part}" must use positive numbers`);
    return { points, durationMs: multiple * (UNIT_MS[match[3]!.toLowerCase()] ?? 0), text: part };
  });
}
