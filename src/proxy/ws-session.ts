/**
 * A WebSocket session, relayed once the upstream accepted the handshake. The client's frames go out
 * through the leg as they come (their headers read, for counts and close codes); the upstream's come
 * back with their events read for usage, and each finished response is charged to the caller's
 * limits before anything after it passes. Both ways hold back when the other side is slow: nothing
 * piles up in aifd. aifd itself ends a session that used up its budget, went idle, ran too long, or
 * is open at shutdown, with a close frame each way.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type AifdError, realtimeErrorEvent } from '../errors.js';
import type { KeyVerdict } from '../keys/classify.js';
import type { SessionAdmission } from '../limits/limits.js';
import { readServerEvent, wantsServerEvent } from '../realtime/events.js';
import { closePayload, encodeFrame, FrameReader, OPCODE } from '../realtime/frames.js';
import { newTally, noteClose, observeServerEvent } from '../realtime/session-tally.js';
import type { ClientLeg } from './client-leg.js';
import type { RequestContext } from './context.js';
import type { OpenSessions } from './open-sessions.js';
import type { UpstreamRuntime } from './upstreams.js';

export interface SessionEnd {
  verdict: KeyVerdict;
  error: string | undefined;
}

/** Largest server event read (a long answer's `response.done`); a larger one passes unread. */
const MAX_EVENT_HELD = 4 * 1024 * 1024;
/** How long aifd waits for the peers to answer its close frames before it cuts the connections. */
const CLOSE_WAIT_MS = 2000;
/** How long a shutdown waits for the sessions it closed to end (and write their records). */
export const SESSION_CLOSE_WAIT_MS = CLOSE_WAIT_MS + 500;

export const CLOSE_CODE = { normal: 1000, goingAway: 1001, policy: 1008 } as const;

export function runSession(
  ctx: RequestContext,
  upstream: UpstreamRuntime,
  leg: ClientLeg,
  sessions: OpenSessions,
): Promise<SessionEnd> {
  const upgrade = ctx.upgrade!;
  const socket = upgrade.socket as Socket;
  // The handshake's answer object is done with the socket: from here it carries frames.
  ctx.res.detachSocket(socket);
  const tally = newTally();
  ctx.session = tally;
  const admission = ctx.admission && 'charge' in ctx.admission ? (ctx.admission as SessionAdmission) : undefined;
  const { sessionIdleMs, sessionMaxMs } = upstream.config.timeouts;

  return new Promise((resolve) => {
    let lastActive = performance.now();
    let closing = false;
    let headPassed = false;
    let charging: Promise<AifdError | undefined> | undefined;

    const serverFrames = new FrameReader({
      wants: wantsServerEvent,
      maxHeld: MAX_EVENT_HELD,
      onMessage(payload) {
        const facts = readServerEvent(payload);
        const usage = facts && observeServerEvent(tally, facts);
        if (!usage || !admission) return undefined;
        charging = admission.charge(usage, tally.model ?? ctx.info.model);
        return 'stop';
      },
      onClose: (code, reason) => noteClose(tally, 'upstream', code, reason),
    });
    const clientFrames = new FrameReader({
      maxHeld: 0,
      onClose: (code, reason) => noteClose(tally, 'client', code, reason),
    });

    const toClient = (part: Buffer, done: () => void) => {
      if (socket.write(part)) done();
      else socket.once('drain', done);
    };

    /** The upstream's bytes: the 101 head first, then frames. */
    function fromUpstream(chunk: Buffer, done: () => void): void {
      if (!headPassed) {
        headPassed = true;
        toClient(chunk, done);
        return;
      }
      if (closing) {
        done();
        return;
      }
      lastActive = performance.now();
      const read = serverFrames.read(chunk);
      const part = read === chunk.length ? chunk : chunk.subarray(0, read);
      tally.bytesOut += part.length;
      const charged = charging;
      if (!charged) {
        toClient(part, done);
        return;
      }
      // A response just finished: nothing after it passes before its usage is charged.
      charging = undefined;
      const written = new Promise<void>((resolve) => toClient(part, resolve));
      Promise.all([charged.catch(() => undefined), written]).then(([refusal]) => {
        if (refusal) {
          closeSession(CLOSE_CODE.policy, refusal.message, refusal);
          done();
        } else if (read < chunk.length) fromUpstream(chunk.subarray(read), done);
        else done();
      });
    }

    function fromClient(chunk: Buffer): void {
      if (closing) return;
      lastActive = performance.now();
      tally.bytesIn += chunk.length;
      clientFrames.read(chunk);
      if (!leg.push(chunk)) socket.pause();
    }

    /** aifd ends the session: a close frame each way where a frame may go, then the connections. */
    function closeSession(code: number, reason: string, error?: AifdError | string): void {
      if (closing) return;
      closing = true;
      noteClose(tally, 'aifd', code, reason);
      if (error) ctx.outcome.error = typeof error === 'string' ? error : error.code;
      if (serverFrames.atBoundary && headPassed) {
        if (error && typeof error !== 'string')
          socket.write(encodeFrame(OPCODE.text, Buffer.from(realtimeErrorEvent(error, `event_aifd_${ctx.id}`)), false));
        socket.write(encodeFrame(OPCODE.close, closePayload(code, reason), false));
      }
      socket.end();
      if (clientFrames.atBoundary) leg.push(encodeFrame(OPCODE.close, closePayload(code, reason), true));
      leg.push(null);
      setTimeout(() => {
        socket.destroy();
        leg.destroy();
      }, CLOSE_WAIT_MS).unref();
    }

    const live = { keyHash: ctx.outcome.keyHash, close: (code: number, reason: string) => closeSession(code, reason) };
    sessions.add(live);

    let idleTimer = setTimeout(checkIdle, sessionIdleMs);
    function checkIdle(): void {
      const quiet = performance.now() - lastActive;
      if (quiet >= sessionIdleMs)
        closeSession(CLOSE_CODE.normal, `no frame either way for ${sessionIdleMs} ms`, 'session_idle');
      else idleTimer = setTimeout(checkIdle, sessionIdleMs - quiet);
    }
    const maxTimer = setTimeout(
      () => closeSession(CLOSE_CODE.normal, `the session reached its longest ${sessionMaxMs} ms`, 'session_too_long'),
      sessionMaxMs,
    );

    leg.onDemand = () => socket.resume();
    leg.onUpstreamEnd = () => socket.end();
    leg.on('close', () => {
      if (!socket.destroyed) socket.end();
    });
    leg.on('error', () => undefined);
    socket.on('error', () => undefined);
    socket.on('data', fromClient);
    socket.on('end', () => leg.push(null));
    socket.once('close', () => {
      clearTimeout(idleTimer);
      clearTimeout(maxTimer);
      sessions.delete(live);
      leg.destroy();
      tally.framesIn = clientFrames.frames;
      tally.framesOut = serverFrames.frames;
      resolve({ verdict: 'ok', error: tally.lastError });
    });
    leg.attach(fromUpstream);
    if (upgrade.head.length > 0) fromClient(upgrade.head);
    socket.resume();
  });
}
