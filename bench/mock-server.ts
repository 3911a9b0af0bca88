// The mock upstream in a process of its own, for the benchmark. Prints {"port": N} when ready.
import { startMockUpstream } from '../test/mock-upstream/mock-upstream.js';

const mock = await startMockUpstream();
mock.options.streamChunks = 20;
mock.options.chunkDelayMs = 5;
// Realtime sessions echo what they are sent (the WebSocket cell); they are not kept either.
mock.realtime.options.echo = true;
// A benchmark sends hundreds of thousands of requests: keep no record of them.
mock.on('request', () => {
  mock.received.length = 0;
  mock.realtime.sessions.length = 0;
});
process.stdout.write(JSON.stringify({ port: mock.port }) + '\n');
process.on('SIGTERM', () => void mock.close().then(() => process.exit(0)));
