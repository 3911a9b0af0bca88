import { describe, expect, it } from 'vitest';
import { IpcLink, type Channel } from '../../src/cluster/ipc-link.js';

type Ops = { [op: string]: [unknown, unknown]; add: [{ a: number; b: number }, number]; fail: [undefined, unknown] };

/** Two links joined as a primary and a worker are, with what each end sent counted. */
function pair() {
  const sent = { left: 0, right: 0 };
  let connected = true;
  const channel = (side: 'left' | 'right', deliver: (message: unknown) => void): Channel => ({
    send: (message, done) => {
      sent[side]++;
      // A structured clone, as node's IPC makes one.
      const copy = structuredClone(message);
      setImmediate(() => {
        deliver(copy);
        done?.(null);
      });
    },
    isConnected: () => connected,
  });
  const left: IpcLink<Ops, Ops> = new IpcLink(channel('left', (message) => right.receive(message)));
  const right: IpcLink<Ops, Ops> = new IpcLink(channel('right', (message) => left.receive(message)));
  return { left, right, sent, disconnect: () => (connected = false) };
}

describe('the IPC link between the primary and a worker', () => {
  it('answers calls, carries errors back, and sends the calls of one turn as one message', async () => {
    const { left, right, sent } = pair();
    right.handle('add', ({ a, b }) => a + b);
    right.handle('fail', () => {
      throw new Error('no such thing');
    });
    const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => left.call('add', { a: i, b: 1 })));
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(sent.left).toBe(1);
    expect(sent.right).toBe(1);
    await expect(left.call('fail', undefined)).rejects.toThrow('no such thing');
  });

  it('lets messages that are not its own pass, and fails open calls once the other end is gone', async () => {
    const { left, right, disconnect } = pair();
    expect(left.receive({ type: 'prom-client:getMetricsReq', requestId: 1 })).toBe(false);
    right.handle('add', () => new Promise<number>(() => undefined));
    const open = left.call('add', { a: 1, b: 2 });
    await new Promise((resolve) => setImmediate(resolve));
    left.close('the worker exited');
    await expect(open).rejects.toThrow('the worker exited');
    await expect(left.call('add', { a: 1, b: 2 })).rejects.toThrow('the worker exited');
    disconnect();
    const later = right.call('add', { a: 1, b: 2 });
    await right.drain();
    await expect(later).rejects.toThrow('the other process is gone');
  });
});
