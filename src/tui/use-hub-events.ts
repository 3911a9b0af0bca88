/**
 * The live view's data: `GET /events` from the admin listener, parsed snapshot by snapshot, and
 * reconnected after a drop (the daemon restarting), never polled.
 */
import { useEffect, useState } from 'react';
import http from 'node:http';
import type { Connection, HubSnapshot } from './snapshot.js';

export interface EventsSource {
  adminUrl: string;
  token: string | undefined;
}

/** Opens the stream; calls back with each snapshot and once when it ends. Returns a closer. */
function subscribe(
  source: EventsSource,
  onSnapshot: (snapshot: HubSnapshot) => void,
  onEnd: (reason: string) => void,
): () => void {
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    onEnd(reason);
  };
  const req = http.get(
    `${source.adminUrl}/events`,
    { headers: source.token ? { authorization: `Bearer ${source.token}` } : {} },
    (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(
          res.statusCode === 401
            ? 'the admin token was refused (401)'
            : `the admin listener answered ${res.statusCode}`,
        );
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        const events = buffer.split('\n\n');
        buffer = events.pop() ?? '';
        for (const event of events) {
          if (!event.startsWith('data: ')) continue;
          try {
            onSnapshot(JSON.parse(event.slice(6)) as HubSnapshot);
          } catch {
            // a torn event: the next one follows within a second
          }
        }
      });
      res.on('end', () => end('the daemon closed the connection'));
      res.on('error', () => end('the connection to the daemon broke'));
    },
  );
  req.on('error', (err: NodeJS.ErrnoException) =>
    end(`cannot reach the daemon at ${source.adminUrl} (${err.code ?? err.message})`),
  );
  return () => {
    ended = true;
    req.destroy();
  };
}

export function useHubEvents(source: EventsSource, retryMs = 1000): Connection {
  const [connection, setConnection] = useState<Connection>({ state: 'connecting' });
  useEffect(() => {
    let close: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let last: HubSnapshot | undefined;
    const connect = () => {
      close = subscribe(
        source,
        (snapshot) => {
          last = snapshot;
          setConnection({ state: 'live', snapshot, at: Date.now() });
        },
        (reason) => {
          setConnection({ state: 'lost', reason, snapshot: last });
          timer = setTimeout(connect, retryMs);
        },
      );
    };
    connect();
    return () => {
      clearTimeout(timer);
      close?.();
    };
  }, [source.adminUrl, source.token, retryMs]);
  return connection;
}
