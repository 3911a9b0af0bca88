/**
 * Calls and notes between the primary and one worker over node's IPC channel. Messages made in one
 * turn of the event loop go as one `send` (a send per counter add cost more than the add), and every
 * envelope is marked, so prom-client's own cluster messages on the same channel pass by untouched.
 */

type Message =
  | { kind: 'call'; id: number; op: string; args: unknown }
  | { kind: 'reply'; id: number; value?: unknown; error?: string }
  | { kind: 'note'; op: string; args: unknown };

interface Envelope {
  aifd: Message[];
}

/** An operation's argument and result types, by name. */
export type Operations = Record<string, [unknown, unknown]>;

type Handler = (args: never) => unknown;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** The channel as both ends see it: `process` in a worker, a cluster Worker in the primary. */
export interface Channel {
  /** `sent`: called once the message is handed to the OS (or failed). */
  send(message: unknown, sent?: (err: Error | null) => void): unknown;
  isConnected(): boolean;
}

export class IpcLink<Calls extends Operations, Answers extends Operations = Operations> {
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Handler>();
  private outbox: Message[] = [];
  private nextId = 1;
  private closedBecause: string | undefined;

  constructor(private readonly channel: Channel) {}

  /** Asks the other end to run `op` and resolves with its result. */
  call<Op extends keyof Calls & string>(op: Op, args: Calls[Op][0]): Promise<Calls[Op][1]> {
    if (this.closedBecause) return Promise.reject(new Error(this.closedBecause));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.post({ kind: 'call', id, op, args });
    });
  }

  /** Tells the other end something that needs no answer. */
  notify<Op extends keyof Calls & string>(op: Op, args: Calls[Op][0]): void {
    if (!this.closedBecause) this.post({ kind: 'note', op, args });
  }

  /** Runs `handler` for the other end's calls and notes named `op`. */
  handle<Op extends keyof Answers & string>(
    op: Op,
    handler: (args: Answers[Op][0]) => Answers[Op][1] | Promise<Answers[Op][1]>,
  ): void {
    this.handlers.set(op, handler as Handler);
  }

  /** Feeds one message from the channel; returns whether it was ours. */
  receive(message: unknown): boolean {
    if (!isEnvelope(message)) return false;
    for (const item of message.aifd) this.take(item);
    return true;
  }

  /** The other end is gone: every open call fails with `reason`, and later calls at once. */
  close(reason: string): void {
    this.closedBecause = reason;
    this.outbox = [];
    for (const pending of this.pending.values()) pending.reject(new Error(reason));
    this.pending.clear();
  }

  private take(message: Message): void {
    if (message.kind === 'reply') {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error === undefined) pending?.resolve(message.value);
      else pending?.reject(new Error(message.error));
      return;
    }
    const handler = this.handlers.get(message.op);
    const run = async () => {
      if (!handler) throw new Error(`no handler for ${message.op}`);
      return (handler as (args: unknown) => unknown)(message.args);
    };
    const answer = run();
    if (message.kind === 'note') {
      answer.catch(() => undefined);
      return;
    }
    answer.then(
      (value) => this.post({ kind: 'reply', id: message.id, value }),
      (err: Error) => this.post({ kind: 'reply', id: message.id, error: err.message }),
    );
  }

  private post(message: Message): void {
    if (this.closedBecause) return;
    this.outbox.push(message);
    if (this.outbox.length === 1) setImmediate(() => this.flush());
  }

  /** Sends what waits now; resolves once it left (a worker about to exit keeps its last records). */
  drain(): Promise<void> {
    return new Promise((resolve) => this.flush(() => resolve()));
  }

  private flush(sent?: () => void): void {
    if (this.outbox.length === 0 || !this.channel.isConnected()) {
      if (this.outbox.length > 0) this.close('the other process is gone');
      sent?.();
      return;
    }
    const envelope: Envelope = { aifd: this.outbox };
    this.outbox = [];
    try {
      this.channel.send(envelope, () => sent?.());
    } catch (err) {
      this.close((err as Error).message);
      sent?.();
    }
  }
}

function isEnvelope(message: unknown): message is Envelope {
  return typeof message === 'object' && message !== null && Array.isArray((message as Envelope).aifd);
}
