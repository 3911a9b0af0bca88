// The mock upstream in a process of its own, for the benchmark. Prints {"port": N} when ready.
import { startMockUpstream } from '../test/mock-upstream/mock-upstream.js';

const mock = await startMockUpstream();
mock.options.streamChunks = 20;
mock.options.chunkDelayMs = 5;
// A benchmark sends hundreds of thousands of requests: keep no record of them.
mock.on('request', () => {
  mock.received.length = 0;
});
process.stdout.write(JSON.stringify({ port: mock.port }) + '\n');
process.on('SIGTERM', () => void mock.close().then(() => process.exit(0)));
