/**
 * How aifd reaches an upstream: directly, or through an HTTP(S) proxy (`upstreams[].proxy`, else
 * HTTPS_PROXY / HTTP_PROXY unless NO_PROXY names the host, as proxy-from-env reads them), trusting
 * a private CA when `upstreams[].tls.ca` names one. Through a proxy every request is tunnelled with
 * CONNECT (https-proxy-agent), for http upstreams too, so the proxy never sees a request, its
 * headers or a pool key.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import type { UpstreamConfig } from '../config/schema.js';

export interface OutboundAgent {
  agent: http.Agent;
  /** The proxy in use, credentials left out (for messages). */
  proxy: string | undefined;
}

const KEEP_ALIVE = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: 256, scheduling: 'lifo' as const };

/** An error the proxy caused: it refused the tunnel. Named so the answer names the proxy. */
export class ProxyRefusedError extends Error {
  constructor(proxy: string, status: number | undefined, statusText: string | undefined) {
    super(`the proxy ${proxy} refused the CONNECT tunnel (${status ?? '?'}${statusText ? ` ${statusText}` : ''})`);
    this.name = 'ProxyRefusedError';
  }
}

export function outboundAgent(config: Pick<UpstreamConfig, 'baseUrl' | 'proxy' | 'tls'>): OutboundAgent {
  const target = new URL(config.baseUrl);
  const ca = config.tls?.ca ? readFileSync(config.tls.ca) : undefined;
  const proxyUrl = config.proxy ?? (getProxyForUrl(target.href) || undefined);
  if (!proxyUrl) {
    const agent =
      target.protocol === 'https:'
        ? new https.Agent({ ...KEEP_ALIVE, ...(ca ? { ca } : {}) })
        : new http.Agent(KEEP_ALIVE);
    return { agent, proxy: undefined };
  }
  const proxy = shown(proxyUrl);
  const agent = new TunnelAgent(proxyUrl, ca);
  // A refusal comes back as the proxy's own answer on a stand-in socket; it must not pass for the upstream's.
  agent.on('proxyConnect', (connect: { statusCode?: number; statusText?: string }, req: http.ClientRequest) => {
    if (connect.statusCode !== 200) req.destroy(new ProxyRefusedError(proxy, connect.statusCode, connect.statusText));
  });
  return { agent, proxy };
}

/**
 * https-proxy-agent takes TLS options for the upstream from each request, not the agent: the
 * private CA goes in there. It also drops the host before the TLS handshake, so an upstream named
 * by IP address would be checked against "localhost"; it is checked against its own address.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  constructor(
    proxy: string,
    private readonly ca: Buffer | undefined,
  ) {
    super(proxy, KEEP_ALIVE);
  }

  override connect(req: http.ClientRequest, opts: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    const host = opts.host ?? '';
    const tlsOptions: tls.ConnectionOptions = {
      ...(this.ca ? { ca: this.ca } : {}),
      ...(isIP(host)
        ? { checkServerIdentity: (_name: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(host, cert) }
        : {}),
    };
    return super.connect(req, { ...opts, ...tlsOptions } as typeof opts);
  }
}

function shown(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'the proxy';
  }
}
