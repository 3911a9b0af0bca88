/**
 * What the request becomes for the target being tried: its path or body naming the target's model,
 * the headers the upstream sees, and what its answer goes through on the way back.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { UpstreamRuntime } from './upstreams.js';
import type { RequestContext } from './context.js';
import { outgoingRequestHeaders } from './headers.js';
import { withPathModel } from './inspect-body.js';

/** The headers sent upstream: the client's, less its credentials in pool mode, plus the upstream's own. */
export function upstreamHeaders(ctx: RequestContext, clientHeaders: IncomingHttpHeaders, upstream: UpstreamRuntime) {
  const headers = outgoingRequestHeaders(clientHeaders, {
    dropCredentials: !upstream.passThrough,
    bodyLength: ctx.body.length,
    hasBody: ctx.body.length > 0 || hasBodySemantics(ctx.req.method),
    extra: upstream.config.headers,
  });
  if (ctx.upgrade) {
    // A handshake keeps its upgrade; aifd reads the upstream's frames, so none may come compressed.
    headers.connection = 'Upgrade';
    headers.upgrade = 'websocket';
    delete headers['sec-websocket-extensions'];
  }
  // An answer aifd rewrites must arrive uncompressed.
  if (ctx.rewriteJson || ctx.alias) delete headers['accept-encoding'];
  return headers;
}

/**
 * Points the request at `model` (a fallback or an alias's real model): the JSON body's `model`,
 * or the model in the path. Returns the path to forward.
 */
export function aimAt(ctx: RequestContext, clientPath: string, model: string): string {
  const json = ctx.info.json;
  if (json && typeof json.get('model') === 'string') {
    if (json.get('model') !== model) {
      json.set('model', model);
      ctx.body = json.toBuffer();
    }
    return clientPath;
  }
  return withPathModel(clientPath, model);
}

/** What a whole JSON answer goes through before the client sees it, if anything. */
export function answerRewrite(ctx: RequestContext): ((body: unknown) => unknown) | undefined {
  const { alias, rewriteJson } = ctx;
  if (!alias) return rewriteJson;
  return (body) => {
    const rewritten = rewriteJson ? rewriteJson(body) : body;
    if (rewritten && typeof rewritten === 'object' && typeof (rewritten as { model?: unknown }).model === 'string') {
      return { ...rewritten, model: alias };
    }
    return rewritten;
  };
}

function hasBodySemantics(method: string | undefined): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}
