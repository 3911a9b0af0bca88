import { Box, Text } from 'ink';
import type { KeyView } from '../keys/snapshot.js';

export type KeySort = 'load' | 'requests' | 'status';

const STATUS_COLOR: Record<string, string> = {
  ok: 'green',
  cooling: 'yellow',
  half_open: 'yellow',
  exhausted: 'yellow',
  revoked: 'red',
  over_quota: 'red',
};
const STATUS_ORDER = ['revoked', 'over_quota', 'cooling', 'half_open', 'exhausted', 'ok'];

function sortKeys(keys: readonly KeyView[], sort: KeySort): KeyView[] {
  const copy = [...keys];
  if (sort === 'load') copy.sort((a, b) => b.inFlight - a.inFlight || b.requestsPerMinute - a.requestsPerMinute);
  if (sort === 'requests') copy.sort((a, b) => b.requests - a.requests);
  if (sort === 'status') copy.sort((a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status));
  return copy;
}

/** `███░░` for in-flight against the busiest key. */
function bar(value: number, max: number, width = 5): string {
  const filled = max <= 0 ? 0 : Math.min(width, Math.round((value / max) * width));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

const SPARKS = '▁▂▃▄▅▆▇█';

/** A one-line chart of recent values, scaled to their own maximum. */
export function sparkline(values: readonly number[], width = 8): string {
  const recent = values.slice(-width);
  const max = Math.max(...recent, 0);
  return recent
    .map((value) =>
      max <= 0 ? SPARKS[0] : SPARKS[Math.min(SPARKS.length - 1, Math.round((value / max) * (SPARKS.length - 1)))],
    )
    .join('')
    .padEnd(width);
}

function countdown(ms: number | null): string {
  if (ms === null) return '-';
  const seconds = Math.ceil(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${seconds % 60}s` : `${seconds}s`;
}

function compact(value: number | null): string {
  if (value === null) return '-';
  if (value >= 1_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  return String(value);
}

/** What the view remembers of a key across snapshots (about one a second). */
export interface KeyHistory {
  requestsPerMinute: readonly number[];
}

export function KeyTable({
  keys,
  sort,
  focused,
  rows,
  history = {},
}: {
  keys: readonly KeyView[];
  sort: KeySort;
  focused: boolean;
  rows: number;
  history?: Readonly<Record<string, KeyHistory>>;
}) {
  const sorted = sortKeys(keys, sort).slice(0, Math.max(1, rows));
  const busiest = Math.max(1, ...keys.map((key) => key.inFlight));
  return (
    <Box flexDirection="column">
      <Text bold color={focused ? 'cyan' : undefined}>
        KEYS ({keys.length}) sort: {sort}
      </Text>
      <Text dimColor>{'UPSTRM KEY       STATUS     IN-FLIGHT REQ/MIN TREND  TOK/MIN REMAIN R/T  RECOVER'}</Text>
      {sorted.map((key) => (
        <Text key={`${key.upstream}:${key.hash}`}>
          {key.upstream.slice(0, 6).padEnd(7)}
          {key.key.slice(0, 9).padEnd(10)}
          <Text color={STATUS_COLOR[key.status] ?? 'white'}>{key.status.padEnd(11)}</Text>
          {`${bar(key.inFlight, busiest)} ${String(key.inFlight).padEnd(4)}${key.sessions > 0 ? ` ${key.sessions} ws` : ''}`}
          {String(key.requestsPerMinute).slice(0, 6).padEnd(8)}
          {sparkline(history[key.hash]?.requestsPerMinute ?? [], 6) + ' '}
          {compact(key.tokensPerMinute ?? 0).padEnd(8)}
          {`${compact(key.remainingRequests)}/${compact(key.remainingTokens)}`.padEnd(13)}
          {countdown(key.recoversInMs)}
        </Text>
      ))}
      {keys.length > sorted.length ? <Text dimColor>… {keys.length - sorted.length} more</Text> : null}
    </Box>
  );
}
