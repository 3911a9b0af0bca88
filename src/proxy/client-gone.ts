import type { ServerResponse } from 'node:http';

/**
 * A signal that aborts when the client goes away before its answer is complete. Its controller is
 * made on first use only: most requests never wait for a key and never need one.
 *
 * A class, not an object literal with a getter: V8 gives each such literal its own hidden class in
 * old space, which then holds the request's whole object graph through every young-generation GC.
 */
class ClientGoneSignal {
  private controller: AbortController | undefined;

  constructor(private readonly res: ServerResponse) {}

  get aborted(): boolean {
    return this.res.destroyed && !this.res.writableFinished;
  }

  addEventListener(type: string, listener: () => void, options?: { once?: boolean }): void {
    if (!this.controller) {
      const made = new AbortController();
      const res = this.res;
      this.controller = made;
      if (this.aborted) made.abort();
      else res.once('close', () => !res.writableFinished && made.abort());
    }
    this.controller.signal.addEventListener(type, listener, options);
  }

  removeEventListener(type: string, listener: () => void): void {
    this.controller?.signal.removeEventListener(type, listener);
  }
}

export function clientGoneSignal(res: ServerResponse): AbortSignal {
  return new ClientGoneSignal(res) as unknown as AbortSignal;
}
