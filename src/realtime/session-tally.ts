/** What one WebSocket session did, added up as it runs: for its access-log record, chat log and metrics. */
import type { Usage } from '../usage/usage.js';
import { addUsage, type ServerEventFacts, type Turn } from './events.js';

export type ClosedBy = 'client' | 'upstream' | 'aifd';

export interface SessionTally {
  /** Frames and bytes from the client to the upstream, and back. */
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** `response.done` events seen. */
  responses: number;
  usage: Usage | undefined;
  /** The model the upstream says the session runs (from `session.created`/`session.updated`). */
  model: string | undefined;
  /** The conversation's text turns, up to MAX_TURN_TEXT characters in all (then `turnsCut`). */
  turns: Turn[];
  turnChars: number;
  turnsCut: boolean;
  /** The close code of the first close frame (undefined: the connection ended without one). */
  closeCode: number | undefined;
  closeReason: string | undefined;
  closedBy: ClosedBy | undefined;
  /** The last `error` event's code. */
  lastError: string | undefined;
}

export function newTally(): SessionTally {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    responses: 0,
    usage: undefined,
    model: undefined,
    turns: [],
    turnChars: 0,
    turnsCut: false,
    closeCode: undefined,
    closeReason: undefined,
    closedBy: undefined,
    lastError: undefined,
  };
}

/** A session's turns kept for the chat log, in characters: a day-long session does not grow without end. */
const MAX_TURN_TEXT = 1024 * 1024;

function keepTurns(tally: SessionTally, turns: readonly Turn[]): void {
  for (const turn of turns) {
    if (tally.turnsCut || tally.turnChars + turn.content.length > MAX_TURN_TEXT) {
      tally.turnsCut = true;
      return;
    }
    tally.turnChars += turn.content.length;
    tally.turns.push(turn);
  }
}

/** Adds what one server event says; returns the usage of a finished response, if it was one. */
export function observeServerEvent(tally: SessionTally, facts: ServerEventFacts): Usage | undefined {
  switch (facts.kind) {
    case 'response':
      tally.responses++;
      keepTurns(tally, facts.turns);
      if (facts.usage) tally.usage = addUsage(tally.usage, facts.usage);
      return facts.usage;
    case 'session':
      if (facts.model) tally.model = facts.model;
      return undefined;
    case 'turn':
      keepTurns(tally, [facts.turn]);
      return undefined;
    case 'error':
      tally.lastError = facts.code;
      return undefined;
    default:
      return undefined;
  }
}

/** The first close frame wins: it says who ended the session and how. */
export function noteClose(tally: SessionTally, by: ClosedBy, code: number | undefined, reason: string): void {
  if (tally.closedBy !== undefined) return;
  tally.closedBy = by;
  tally.closeCode = code;
  tally.closeReason = reason || undefined;
}
