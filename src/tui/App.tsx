import { useEffect, useRef, useState } from 'react';
import { useApp, useInput, useStdout } from 'ink';
import { Dashboard, type Pane } from './Dashboard.js';
import type { KeyHistory, KeySort } from './KeyTable.js';
import type { Connection } from './snapshot.js';
import { useHubEvents, type EventsSource } from './use-hub-events.js';

const SORTS: KeySort[] = ['load', 'requests', 'status'];

export function App({
  source,
  onGiveUp,
  interactive = true,
}: {
  source: EventsSource;
  onGiveUp: (reason: string) => void;
  interactive?: boolean;
}) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const live = useHubEvents(source);
  const [sort, setSort] = useState<KeySort>('load');
  const [pane, setPane] = useState<Pane>('keys');
  const [paused, setPaused] = useState(false);
  const [shown, setShown] = useState<Connection>(live);
  const everConnected = useRef(false);
  const [history, setHistory] = useState<Record<string, KeyHistory>>({});

  useEffect(() => {
    if (live.state === 'live') {
      everConnected.current = true;
      if (!paused) {
        setHistory((before) => {
          const next: Record<string, KeyHistory> = {};
          for (const key of live.snapshot.keys) {
            const past = before[key.hash];
            next[key.hash] = {
              requestsPerMinute: [...(past?.requestsPerMinute ?? []), key.requestsPerMinute].slice(-20),
            };
          }
          return next;
        });
      }
    }
    if (!paused || live.state !== 'live') setShown(live);
    // Never reached at all: say so and stop, rather than wait forever.
    if (live.state === 'lost' && !everConnected.current) {
      onGiveUp(live.reason);
      exit();
    }
  }, [live, paused]);

  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) exit();
      if (key.tab) setPane((current) => (current === 'keys' ? 'users' : 'keys'));
      if (input === 's') setSort((current) => SORTS[(SORTS.indexOf(current) + 1) % SORTS.length]!);
      if (input === 'p') setPaused((current) => !current);
    },
    { isActive: interactive },
  );

  return (
    <Dashboard connection={shown} sort={sort} pane={pane} paused={paused} rows={stdout.rows || 24} history={history} />
  );
}
