// The floor for our stack: a bare http-proxy-3 reverse proxy with a keep-alive agent. WORKERS=N
// runs N of it behind one port with node:cluster, the floor for aifd's --workers.
import cluster from 'node:cluster';
import http from 'node:http';
import { createProxyServer } from 'http-proxy-3';

const workers = Number(process.env.WORKERS ?? 1);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let printed = false;
  cluster.on('message', (_worker, message: { port?: number }) => {
    if (printed || message.port === undefined) return;
    printed = true;
    process.stdout.write(JSON.stringify({ port: message.port }) + '\n');
  });
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    cluster.on('exit', () => Object.keys(cluster.workers ?? {}).length === 0 && process.exit(0));
  });
} else {
  const target = process.env.TARGET!;
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
  const proxy = createProxyServer({ target, agent, xfwd: true });
  proxy.on('error', (_err, _req, res) => {
    if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
    res.end();
  });
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => proxy.web(req, res));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head));
  // In a cluster every worker gets the same port for port 0.
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port;
    if (cluster.isWorker) process.send!({ port });
    else process.stdout.write(JSON.stringify({ port }) + '\n');
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
