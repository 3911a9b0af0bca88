/** Starts the Ink app (only `aifd top` loads this, and with it Ink and React). */
import { render } from 'ink';
import { App } from './App.js';
import type { EventsSource } from './use-hub-events.js';

/** Resolves when the user quits; rejects when the daemon could never be reached. */
export async function runTop(source: EventsSource): Promise<void> {
  let failure: string | undefined;
  // Without a terminal on stdin there are no keys to read: the view still runs (Ctrl-C stops it).
  const interactive = Boolean(process.stdin.isTTY);
  const app = render(<App source={source} onGiveUp={(reason) => (failure = reason)} interactive={interactive} />);
  await app.waitUntilExit();
  if (failure) throw new Error(failure);
}
