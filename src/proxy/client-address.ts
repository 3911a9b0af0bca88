import type { IncomingMessage } from 'node:http';

/**
 * The client's address: the socket's peer, or, behind `trustedHops` proxies of our own, the
 * address the outermost trusted proxy saw. Entries further left in x-forwarded-for are
 * client-supplied and never believed.
 */
export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const peer = stripMappedPrefix(req.socket.remoteAddress ?? '');
  if (trustedHops <= 0) return peer;
  const raw = req.headers['x-forwarded-for'];
  const header = Array.isArray(raw) ? raw.join(',') : raw;
  if (!header) return peer;
  const chain = header
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  chain.push(peer);
  const index = chain.length - 1 - trustedHops;
  return stripMappedPrefix(chain[Math.max(0, index)] ?? peer);
}

function stripMappedPrefix(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
