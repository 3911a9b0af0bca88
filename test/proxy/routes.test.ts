import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { RouteTable } from '../../src/proxy/routes.js';
import { createUpstreamRuntime, destroyUpstreamRuntime } from '../../src/proxy/upstreams.js';
import { systemClock } from '../../src/util/clock.js';
import { clientResponseHeaders, outgoingRequestHeaders, rawHeader } from '../../src/proxy/headers.js';

function table(routes: string[]): RouteTable {
  const config = validate(
    { upstreams: routes.map((route, i) => ({ name: `u${i}`, route, baseUrl: 'http://127.0.0.1:9' })) },
    'test',
  );
  const upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, systemClock));
  upstreams.forEach(destroyUpstreamRuntime);
  return new RouteTable(upstreams);
}

describe('RouteTable', () => {
  it('sends Anthropic requests to the Anthropic upstreams of a shared route, the rest to the OpenAI ones', () => {
    const config = validate(
      {
        upstreams: [
          { name: 'openai', baseUrl: 'http://127.0.0.1:9' },
          { name: 'claude', api: 'anthropic', baseUrl: 'http://127.0.0.1:9' },
          { name: 'only-claude', api: 'anthropic', route: '/claude', baseUrl: 'http://127.0.0.1:9' },
        ],
      },
      'test',
    );
    const upstreams = config.upstreams.map((upstream) => createUpstreamRuntime(upstream, systemClock));
    upstreams.forEach(destroyUpstreamRuntime);
    const routes = new RouteTable(upstreams);
    const at = (url: string, anthropicClient?: boolean) => {
      const match = routes.match(url, anthropicClient)!;
      return [match.api, match.upstream.config.name, match.shared.map((upstream) => upstream.config.name)];
    };
    expect(at('/v1/messages')).toEqual(['anthropic', 'claude', ['claude']]);
    expect(at('/v1/messages/count_tokens')).toEqual(['anthropic', 'claude', ['claude']]);
    expect(at('/v1/chat/completions')).toEqual(['openai', 'openai', ['openai']]);
    expect(at('/v1/models')).toEqual(['openai', 'openai', ['openai']]);
    expect(at('/v1/models', true)).toEqual(['anthropic', 'claude', ['claude']]);
    expect(at('/claude/v1/models')).toEqual(['anthropic', 'only-claude', ['only-claude']]);
    expect(config.upstreams.map((upstream) => upstream.keyHeader)).toEqual(['authorization', 'x-api-key', 'x-api-key']);
  });

  it('picks the longest prefix and strips it', () => {
    const routes = table(['/', '/local', '/local/fast']);
    expect(routes.match('/v1/models')).toMatchObject({
      forwardPath: '/v1/models',
      upstream: { config: { name: 'u0' } },
    });
    expect(routes.match('/local/v1/models?limit=2')).toMatchObject({
      forwardPath: '/v1/models?limit=2',
      pathname: '/local/v1/models',
      apiPath: '/v1/models',
      upstream: { config: { name: 'u1' } },
    });
    expect(routes.match('/local/fast/v1/chat/completions')).toMatchObject({
      forwardPath: '/v1/chat/completions',
      upstream: { config: { name: 'u2' } },
    });
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
      {
        host: 'aifd',
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        authorization: 'Bearer client',
        'api-key': 'k',
        'content-length': '99',
        'transfer-encoding': 'chunked',
        'x-aifd-cache': 'on',
        accept: 'application/json',
        expect: '100-continue',
      },
      { dropCredentials: true, bodyLength: 12, hasBody: true, extra: { 'OpenAI-Organization': 'org-1' } },
    );
    expect(out).toEqual({ accept: 'application/json', 'content-length': '12', 'openai-organization': 'org-1' });
  });
  it('keeps the client credential in pass-through mode', () => {
    const out = outgoingRequestHeaders(
      { authorization: 'Bearer mine' },
      { dropCredentials: false, bodyLength: 0, hasBody: false, extra: {} },
    );
    expect(out).toEqual({ authorization: 'Bearer mine' });
  });
  it('drops hop-by-hop headers coming down and adds the request id', () => {
    const raw = [
      'Content-Type',
      'text/event-stream',
      'Transfer-Encoding',
      'chunked',
      'Connection',
      'keep-alive, x-hop',
      'Keep-Alive',
      'timeout=5',
      'x-request-id',
      'req_1',
      'X-Hop',
      'dropped',
    ];
    const out = clientResponseHeaders(raw, { 'x-aifd-request-id': 'id-1' }, { poolMode: false });
    expect(out).toEqual(['Content-Type', 'text/event-stream', 'x-request-id', 'req_1', 'x-aifd-request-id', 'id-1']);
  });
  it("keeps the upstream's rate-limit headers in pass-through mode, the caller's own in pool mode", () => {
    const raw = ['x-ratelimit-remaining-requests', '99', 'x-aifd-cache', 'hit', 'content-length', '12'];
    const answer = { 'x-aifd-request-id': 'id-2', 'x-ratelimit-remaining-requests': '5', 'x-aifd-cache': 'miss' };
    expect(clientResponseHeaders(raw, answer, { poolMode: false })).toEqual([
      'x-ratelimit-remaining-requests',
      '99',
      'content-length',
      '12',
      'x-aifd-request-id',
      'id-2',
      'x-aifd-cache',
      'miss',
    ]);
    expect(clientResponseHeaders(raw, answer, { poolMode: true, dropLength: true })).toEqual([
      'x-aifd-request-id',
      'id-2',
      'x-ratelimit-remaining-requests',
      '5',
      'x-aifd-cache',
      'miss',
    ]);
  });
  it('finds a raw header whatever its case', () => {
    expect(rawHeader(['Content-Type', 'application/json', 'content-type', 'text/plain'], 'content-type')).toBe(
      'application/json',
    );
    expect(rawHeader(['X-Other', '1'], 'content-type')).toBeUndefined();
  });
});
