/**
 * The stall figure: how much one client sending large prompts in a loop delays the chunks of
 * streams flowing through the same proxy. 100 streams of 20 chunks 20 ms apart, the gaps between
 * their chunks' arrivals collected; the figure is the gaps' p99 with the large prompts flowing, less
 * the p99 without them, in the same round.
 */
import http from 'node:http';

const STREAMS = 100;
const CHUNKS = 20;
const CHUNK_GAP_MS = 20;

const agent = new http.Agent({ keepAlive: true, maxSockets: STREAMS + 4 });
const BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  stream: true,
  messages: [{ role: 'user', content: 'Stream twenty chunks.' }],
});

/** POSTs a JSON chat request through the bench's agent. */
function postChat(
  url: string,
  headers: Record<string, string | number>,
  body: string | Buffer,
  onResponse: (res: http.IncomingMessage) => void,
  onError: (err: Error) => void,
): void {
  const req = http.request(
    `${url}/v1/chat/completions`,
    { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } },
    onResponse,
  );
  req.on('error', onError);
  req.end(body);
}

/** One batch of streams, all at once; resolves with every gap between two chunks of a stream (ms). */
function streamBatch(url: string, headers: Record<string, string>): Promise<number[]> {
  const gaps: number[] = [];
  let open = STREAMS;
  return new Promise((resolve, reject) => {
    for (let i = 0; i < STREAMS; i++) {
      const streamHeaders = { 'x-mock-chunks': String(CHUNKS), 'x-mock-delay-ms': String(CHUNK_GAP_MS), ...headers };
      postChat(
        url,
        streamHeaders,
        BODY,
        (res) => {
          let last = 0;
          res.on('data', () => {
            const now = performance.now();
            if (last) gaps.push(now - last);
            last = now;
          });
          res.on('end', () => {
            if (res.statusCode !== 200) reject(new Error(`a stream answered ${res.statusCode}`));
            if (--open === 0) resolve(gaps);
          });
        },
        reject,
      );
    }
  });
}

/** Sends `body` one request after another until `until` resolves; resolves with how many were answered. */
async function promptLoop(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  until: Promise<unknown>,
): Promise<number> {
  let done = false;
  void until.then(
    () => (done = true),
    () => (done = true),
  );
  let answered = 0;
  while (!done) {
    await new Promise<void>((resolve, reject) => {
      postChat(
        url,
        { 'content-length': body.length, 'x-mock-ignore-body': '1', ...headers },
        body,
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`a large prompt answered ${res.statusCode}`)),
          );
        },
        reject,
      );
    });
    answered++;
  }
  return answered;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!;
}

export interface StallSample {
  /** Gap p99 without, and with, the large prompts (ms). */
  quietP99: number;
  loadedP99: number;
  /** Large prompts answered while the streams flowed. */
  prompts: number;
}

/** `batches` batches of streams without the large prompts, then as many with them. */
export async function measureStall(
  url: string,
  headers: Record<string, string>,
  largeBody: Buffer,
  batches = 3,
): Promise<StallSample> {
  const quiet: number[] = [];
  const loaded: number[] = [];
  let prompts = 0;
  for (let i = 0; i < batches; i++) quiet.push(...(await streamBatch(url, headers)));
  for (let i = 0; i < batches; i++) {
    const streams = streamBatch(url, headers);
    const [gaps, answered] = await Promise.all([streams, promptLoop(url, headers, largeBody, streams)]);
    loaded.push(...gaps);
    prompts += answered;
  }
  return { quietP99: p99(quiet), loadedP99: p99(loaded), prompts };
}
