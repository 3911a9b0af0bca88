/**
 * Splits an SSE byte stream into whole events as chunks pass by, without holding more than the
 * one event still being received. The chunks themselves go to the client untouched.
 */
export class SseEventSplitter {
  private pending = '';

  /** Feeds one chunk; returns the events it completed (each without its blank-line end). */
  push(chunk: Buffer | string): string[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const events: string[] = [];
    let start = 0;
    for (;;) {
      const lf = text.indexOf('\n\n', start);
      const crlf = text.indexOf('\r\n\r\n', start);
      if (lf === -1 && crlf === -1) break;
      const useCrlf = crlf !== -1 && (lf === -1 || crlf < lf);
      const end = useCrlf ? crlf : lf;
      events.push(text.slice(start, end));
      start = end + (useCrlf ? 4 : 2);
    }
    this.pending = text.slice(start);
    // An event larger than this is not one aifd needs to read; do not let it grow without bound.
    if (this.pending.length > 1024 * 1024) this.pending = '';
    return events;
  }
}

/** The data of an SSE event (its `data:` lines joined), and its `event:` name. */
export function parseSseEvent(raw: string): { event: string | undefined; data: string } {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    else if (line.startsWith('event:')) event = line.slice(6).trim();
  }
  return { event, data: data.join('\n') };
}
