import { Box, Text } from 'ink';
import type { Connection } from './snapshot.js';
import { KeyTable, type KeyHistory, type KeySort } from './KeyTable.js';

export type Pane = 'keys' | 'users';

export interface DashboardProps {
  connection: Connection;
  sort: KeySort;
  pane: Pane;
  paused: boolean;
  /** Terminal rows, to fit 24 and grow with more. */
  rows: number;
  /** Requests per minute per key over the last snapshots (for the sparklines). */
  history?: Readonly<Record<string, KeyHistory>>;
}

export function Dashboard({ connection, sort, pane, paused, rows, history }: DashboardProps) {
  if (connection.state === 'connecting') return <Text>connecting to the aifd daemon…</Text>;
  const snapshot = connection.snapshot;
  const lost = connection.state === 'lost';
  if (!snapshot) {
    return (
      <Box flexDirection="column">
        <Text color="red">aifd daemon unreachable: {lost ? connection.reason : ''}</Text>
        <Text dimColor>retrying every second · q quit</Text>
      </Box>
    );
  }
  const totals = snapshot.totals;
  const keyRows = Math.max(3, rows - 14);
  return (
    <Box flexDirection="column">
      <Text>
        <Text bold>aifd</Text>{' '}
        {lost ? (
          <Text color="red">disconnected: {connection.reason}</Text>
        ) : paused ? (
          <Text color="yellow">paused</Text>
        ) : (
          <Text color="green">live</Text>
        )}
        {` ${totals.requestsPerSecond} req/s  err ${(totals.errorRate * 100).toFixed(1)}%  p50/p99 ${Math.round(totals.p50Ms)}/${Math.round(totals.p99Ms)} ms  tok/min ${totals.tokensPerMinute}  in-flight ${snapshot.inFlight}${snapshot.sessions ? `  sessions ${snapshot.sessions}` : ''}`}
      </Text>
      {snapshot.store && !snapshot.store.up ? (
        <Text color="red">{`store (${snapshot.store.kind}) unreachable since ${new Date(snapshot.store.since ?? Date.now()).toISOString().slice(11, 19)}: ${snapshot.store.reason ?? ''} · limits per onStoreDown`}</Text>
      ) : null}
      <Text dimColor>
        {snapshot.upstreams
          .map(
            (upstream) =>
              `${upstream.name} ${upstream.route} (${upstream.mode}${upstream.queueLength ? `, ${upstream.queueLength} waiting` : ''})`,
          )
          .join('  ')}
      </Text>
      <KeyTable keys={snapshot.keys} sort={sort} focused={pane === 'keys'} rows={keyRows} history={history} />
      <Text bold color={pane === 'users' ? 'cyan' : undefined}>
        USERS (last minute, nearest their limits first)
      </Text>
      {totals.users.length === 0 ? <Text dimColor>no requests yet</Text> : null}
      {totals.users.slice(0, pane === 'users' ? 8 : 3).map((user) => (
        <Text key={user.user} color={user.nearest && user.nearest.share >= 0.8 ? 'yellow' : undefined}>
          {`${user.user.slice(0, 20).padEnd(22)}${String(user.requests).padStart(6)} req ${String(user.tokens).padStart(9)} tok`}
          {user.nearest ? `  ${Math.round(user.nearest.share * 100)}% of ${user.nearest.limit}` : ''}
        </Text>
      ))}
      <Text bold>RECENT ERRORS</Text>
      {totals.recentErrors.length === 0 ? <Text dimColor>none</Text> : null}
      {totals.recentErrors.slice(0, 3).map((error, index) => (
        <Text
          key={index}
          color="red"
        >{`${error.at.slice(11, 19)} ${error.error} ${error.path} ${error.user ?? ''}`}</Text>
      ))}
      <Text dimColor>q quit · tab pane · s sort · p pause</Text>
    </Box>
  );
}
