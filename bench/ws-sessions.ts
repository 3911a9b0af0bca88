/**
 * The WebSocket cell: `sessions` Realtime sessions held open at once, each sending a 4 KB event
 * `rate` times a second that the mock upstream echoes back (so as many frames come each way), for
 * `seconds`. Measures the proxy's CPU per relayed frame and its RSS per open session.
 */
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import WebSocket from 'ws';
import { cpuMs } from './targets.js';

export interface WsCell {
  cpuUsPerFrame: number;
  rssKbPerSession: number;
  /** Frames relayed, both ways. */
  frames: number;
}

const FRAME = JSON.stringify({ type: 'bench.echo', audio: 'A'.repeat(4096 - 34) });

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

export async function measureSessions(
  url: string,
  headers: Record<string, string>,
  pid: number,
  options: { sessions: number; rate: number; seconds: number },
): Promise<WsCell> {
  const wsUrl = `${url.replace('http', 'ws')}/v1/realtime?model=gpt-realtime`;
  const before = await rssKb(pid);
  const sockets = await Promise.all(
    Array.from({ length: options.sessions }, async () => {
      const ws = new WebSocket(wsUrl, { headers, perMessageDeflate: false });
      await once(ws, 'open');
      return ws;
    }),
  );
  const opened = await rssKb(pid);
  let received = 0;
  for (const ws of sockets) ws.on('message', () => received++);
  let sent = 0;
  const cpuStart = await cpuMs(pid);
  const timers = sockets.map((ws, index) => {
    const send = () => {
      ws.send(FRAME);
      sent++;
    };
    // Spread over the interval, so that the sessions do not all send in the same millisecond.
    const start = setTimeout(
      () => {
        send();
        timers[index] = setInterval(send, 1000 / options.rate);
      },
      ((index % options.rate) * 1000) / options.rate / options.sessions,
    );
    return start as NodeJS.Timeout;
  });
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  for (const timer of timers) clearInterval(timer);
  // Every echo back before the CPU is read.
  const deadline = Date.now() + 5000;
  while (received < sent + options.sessions && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const cpuEnd = await cpuMs(pid);
  await Promise.all(
    sockets.map((ws) => {
      ws.close();
      return once(ws, 'close');
    }),
  );
  const frames = sent + received;
  return {
    cpuUsPerFrame: ((cpuEnd - cpuStart) * 1000) / frames,
    rssKbPerSession: (opened - before) / options.sessions,
    frames,
  };
}
