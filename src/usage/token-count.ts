/**
 * Exact token counts, off the event loop: one worker thread per encoding (o200k_base for the
 * gpt-4o family, gpt-4.1, gpt-5 and the o-series; cl100k_base for older models), started on first
 * use. Building an encoder takes a few hundred milliseconds and about 35 MB, which a daemon whose
 * upstreams report usage and whose limits are not close to exhausted never pays.
 */
import { Worker } from 'node:worker_threads';

type Encoding = 'o200k_base' | 'cl100k_base';

function encodingFor(model: string | undefined): Encoding {
  if (!model) return 'o200k_base';
  return /^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o\d|chatgpt-4o|omni)/.test(model) ? 'o200k_base' : 'cl100k_base';
}

type Reply =
  | { id: number; total: number; error?: undefined }
  | { id: number; error: string; total?: undefined }
  | { ready: true; id?: undefined };

class TokenThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (total: number) => void; reject: (err: Error) => void }>();
  private nextId = 0;

  constructor(private readonly encoding: Encoding) {}

  count(work: TextsToCount): Promise<number> {
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, ...work });
    });
  }

  private start(): Worker {
    const worker = new Worker(new URL('./token-worker.js', import.meta.url), {
      workerData: { encoder: `gpt-tokenizer/encoding/${this.encoding}` },
    });
    // Idle, the thread must not keep a finished process (or a test run) alive.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      if (reply.id === undefined) return;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.error !== undefined) waiting.reject(new Error(reply.error));
      else waiting.resolve(reply.total);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the token counting thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

/**
 * Texts to count: strings, and places in `bytes` (a JSON string there is decoded first; any other
 * JSON value is counted as written). The bytes are copied to the thread, so they may be reused.
 */
export interface TextsToCount {
  texts?: readonly string[];
  bytes?: Uint8Array;
  spans?: readonly (readonly [number, number])[];
}

const threads = new Map<Encoding, TokenThread>();

/** The tokens of all the texts together, in the encoding of `model`. */
export function countTokens(model: string | undefined, work: TextsToCount): Promise<number> {
  if (!work.texts?.length && !work.spans?.length) return Promise.resolve(0);
  const encoding = encodingFor(model);
  let thread = threads.get(encoding);
  if (!thread) threads.set(encoding, (thread = new TokenThread(encoding)));
  return thread.count(work);
}
