import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { RouteTable } from '../../src/proxy/routes.js';
import { createUpstreamRuntime, destroyUpstreamRuntime } from '../../src/proxy/upstreams.js';
import { systemClock } from '../../src/util/clock.js';
import { clientResponseHeaders, outgoingRequestHeaders } from '../../src/proxy/headers.js';

function table(routes: string[]): RouteTable {
  const config = validate({ upstreams: routes.map((route, i) => ({ name: `u${i}`, route, baseUrl: 'http://127.0.0.1:9' })) }, 'test');
  const upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, systemClock));
  upstreams.forEach(destroyUpstreamRuntime);
  return new RouteTable(upstreams);
}

describe('RouteTable', () => {
  it('picks the longest prefix and strips it', () => {
    const routes = table(['/', '/local', '/local/fast']);
    expect(routes.match('/v1/models')).toMatchObject({ forwardPath: '/v1/models', upstream: { config: { name: 'u0' } } });
    expect(routes.match('/local/v1/models?limit=2')).toMatchObject({ forwardPath: '/v1/models?limit=2', pathname: '/local/v1/models', apiPath: '/v1/models', upstream: { config: { name: 'u1' } } });
    expect(routes.match('/local/fast/v1/chat/completions')).toMatchObject({ forwardPath: '/v1/chat/completions', upstream: { config: { name: 'u2' } } });
    expect(routes.match('/local')).toMatchObject({ forwardPath: '/', upstream: { config: { name: 'u1' } } });
  });
  it('does not match a prefix inside a path segment', () => {
    const routes = table(['/', '/local']);
    expect(routes.match('/localhost/v1/models')?.upstream.config.name).toBe('u0');
  });
  it('answers nothing when no route covers the path', () => {
    expect(table(['/azure']).match('/v1/models')).toBeUndefined();
  });
});

describe('header hygiene', () => {
  it('drops hop-by-hop and credential headers going up, and sets the length', () => {
    const out = outgoingRequestHeaders(
      { host: 'aifd', connection: 'keep-alive, x-hop', 'x-hop': '1', authorization: 'Bearer client', 'api-key': 'k', 'content-length': '99', 'transfer-encoding': 'chunked', 'x-aifd-cache': 'on', accept: 'application/json', expect: '100-continue' },
      { dropCredentials: true, bodyLength: 12, hasBody: true, extra: { 'OpenAI-Organization': 'org-1' } },
    );
    expect(out).toEqual({ accept: 'application/json', 'content-length': '12', 'openai-organization': 'org-1' });
  });
  it('keeps the client credential in pass-through mode', () => {
    const out = outgoingRequestHeaders({ authorization: 'Bearer mine' }, { dropCredentials: false, bodyLength: 0, hasBody: false, extra: {} });
    expect(out).toEqual({ authorization: 'Bearer mine' });
  });
  it('drops hop-by-hop headers coming down and adds the request id', () => {
    const out = clientResponseHeaders({ 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-request-id': 'req_1' }, { 'x-aifd-request-id': 'id-1' });
    expect(out).toEqual({ 'content-type': 'text/event-stream', 'x-request-id': 'req_1', 'x-aifd-request-id': 'id-1' });
  });
});
