/**
 * Calendar periods in a time zone, pure: a budget's day, week (Monday to Monday) or month, its
 * label (the counter's name) and when it ends. DST is handled by asking Intl for the zone's offset.
 */
export type Period = 'daily' | 'weekly' | 'monthly';

export interface PeriodPosition {
  label: string;
  /** When the period began (local midnight of its first day). */
  startsAt: number;
  endsAt: number;
}

export function periodAt(period: Period, now: number, timeZone: string): PeriodPosition {
  const { year, month, day, weekday } = localDate(now, timeZone);
  if (period === 'daily')
    return {
      label: ymd(year, month, day),
      startsAt: localMidnight(year, month, day, timeZone),
      endsAt: localMidnight(year, month, day + 1, timeZone),
    };
  if (period === 'monthly')
    return {
      label: `${year}-${pad(month)}`,
      startsAt: localMidnight(year, month, 1, timeZone),
      endsAt: localMidnight(year, month + 1, 1, timeZone),
    };
  const monday = day - ((weekday + 6) % 7);
  const start = new Date(Date.UTC(year, month - 1, monday));
  return {
    label: `week-${ymd(start.getUTCFullYear(), start.getUTCMonth() + 1, start.getUTCDate())}`,
    startsAt: localMidnight(year, month, monday, timeZone),
    endsAt: localMidnight(year, month, monday + 7, timeZone),
  };
}

interface LocalDate {
  year: number;
  month: number;
  day: number;
  /** 0 = Sunday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function parts(at: number, timeZone: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(at)) out[part.type] = part.value;
  return out;
}

function localDate(at: number, timeZone: string): LocalDate {
  const p = parts(at, timeZone);
  return { year: Number(p.year), month: Number(p.month), day: Number(p.day), weekday: WEEKDAYS.indexOf(p.weekday!) };
}

/** The zone's offset from UTC at `at`, in milliseconds. */
function offsetAt(at: number, timeZone: string): number {
  const p = parts(at, timeZone);
  const asUtc = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return asUtc - Math.floor(at / 1000) * 1000;
}

/** The instant of local midnight on the given (possibly overflowing) date. */
function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  let at = guess - offsetAt(guess, timeZone);
  at = guess - offsetAt(at, timeZone);
  return at;
}

function ymd(year: number, month: number, day: number): string {
  return `${year}-${pad(month)}-${pad(day)}`;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
