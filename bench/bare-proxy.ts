// The floor for our stack: a bare http-proxy-3 reverse proxy with a keep-alive agent.
import http from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const target = process.env.TARGET!;
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
const proxy = createProxyServer({ target, agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => proxy.web(req, res));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as { port: number }).port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
