/**
 * Probing keys: one `GET /v1/models` per key, which costs no tokens, classified into what the key
 * can do now. Used by `aifd keys check`, the admin listener and the scheduled check.
 */
import http from 'node:http';
import { outboundAgent, ProxyRefusedError } from '../net/outbound-agent.js';
import { readBounded } from '../net/read-bounded.js';
import https from 'node:https';
import type { UpstreamConfig } from '../config/schema.js';
import { anyGlobMatch } from '../util/glob.js';
import { errorCodeOf } from './classify.js';
import type { KeyPool, PoolKey } from './pool.js';
import { toPoolKey } from './pool.js';
import { keyHeaders, withUpstreamQuery } from '../net/upstream-address.js';

export type CheckVerdict = 'ok' | 'revoked' | 'over_quota' | 'rate_limited' | 'unreachable' | 'error';

export interface KeyCheckResult {
  upstream: string;
  hash: string;
  key: string;
  label: string | undefined;
  verdict: CheckVerdict;
  /** The HTTP status the probe got, if any. */
  status: number | undefined;
  detail: string;
  /** Models the key can use (the upstream's list, narrowed by the key's `models` globs). */
  models: string[] | undefined;
  checkedAt: number;
}

/** Verdicts that leave a key able to serve (a rate-limited key recovers by itself). */
export function isUsable(verdict: CheckVerdict): boolean {
  return verdict === 'ok' || verdict === 'rate_limited';
}

export async function checkUpstreamKeys(upstream: UpstreamConfig, timeoutMs = 10_000): Promise<KeyCheckResult[]> {
  const keys = upstream.keys.map(toPoolKey);
  return Promise.all(keys.map((key) => probeKey(upstream, key, timeoutMs)));
}

async function probeKey(upstream: UpstreamConfig, key: PoolKey, timeoutMs: number): Promise<KeyCheckResult> {
  const base = { upstream: upstream.name, hash: key.hash, key: key.masked, label: key.label, checkedAt: Date.now() };
  let answer: { status: number; body: Buffer };
  try {
    answer = await fetchModelList(upstream, keyHeaders(upstream, key.secret), timeoutMs);
  } catch (err) {
    return { ...base, verdict: 'unreachable', status: undefined, detail: (err as Error).message, models: undefined };
  }
  const { status, body } = answer;
  const code = errorCodeOf(body);
  if (status === 200) {
    const models = modelIds(body)?.filter((id) => !key.models || anyGlobMatch(key.models, id));
    return { ...base, verdict: 'ok', status, detail: models ? `${models.length} model(s)` : 'ok', models };
  }
  if (status === 403) {
    // Restricted keys may not list models and still serve completions.
    return { ...base, verdict: 'ok', status, detail: 'key may not list models (403)', models: undefined };
  }
  const detail = code ? `${status} ${code}` : String(status);
  if (status === 401) return { ...base, verdict: 'revoked', status, detail, models: undefined };
  if (status === 429)
    return {
      ...base,
      verdict: code === 'insufficient_quota' ? 'over_quota' : 'rate_limited',
      status,
      detail,
      models: undefined,
    };
  if (status >= 500) return { ...base, verdict: 'unreachable', status, detail, models: undefined };
  return { ...base, verdict: 'error', status, detail, models: undefined };
}

/** `GET /v1/models` on an upstream with the given credential (its extra headers and query added). */
/** `GET /v1/models` on the upstream, the way requests reach it (its proxy, its CA); a running daemon passes its upstream's agent. */
export async function fetchModelList(
  upstream: UpstreamConfig,
  credential: Record<string, string>,
  timeoutMs: number,
  agent?: http.Agent,
): Promise<{ status: number; body: Buffer }> {
  const base = new URL(upstream.baseUrl);
  const url = new URL(withUpstreamQuery(upstream, `${base.pathname.replace(/\/+$/, '')}/v1/models`), base);
  const own = agent ? undefined : outboundAgent(upstream).agent;
  try {
    return await get(url, { ...upstream.headers, ...credential }, timeoutMs, agent ?? own!);
  } finally {
    own?.destroy();
  }
}

/** One entry of an OpenAI-style model list. */
export interface ModelEntry {
  id: string;
  object?: string;
  created?: number;
  owned_by?: string;
  [field: string]: unknown;
}

/** The entries of a `GET /v1/models` body; undefined when it is not such a list. */
export function modelEntries(body: Buffer): ModelEntry[] | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data)) return undefined;
    return parsed.data.filter((entry): entry is ModelEntry => typeof (entry as ModelEntry | null)?.id === 'string');
  } catch {
    return undefined;
  }
}

function modelIds(body: Buffer): string[] | undefined {
  return modelEntries(body)?.map((entry) => entry.id);
}

function get(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
  agent: http.Agent,
): Promise<{ status: number; body: Buffer }> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: 'GET', headers, timeout: timeoutMs, agent }, (res) => {
      // A model list is tens of kilobytes; a larger answer is read away and counts as unreadable.
      readBounded(res, 4 * 1024 * 1024, 'drain').then((read) => {
        if (read.kind === 'broken') reject(read.error);
        else resolve({ status: res.statusCode ?? 0, body: read.kind === 'whole' ? read.body : Buffer.alloc(0) });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err instanceof ProxyRefusedError || !err.code ? err.message : err.code)),
    );
    req.end();
  });
}

/** Applies check results to a pool: ok restores a key at once, a failure takes it out. */
export function applyCheckResults(pool: KeyPool, results: readonly KeyCheckResult[]): void {
  for (const result of results) {
    if (result.verdict === 'error') continue;
    pool.setChecked(result.hash, result.verdict, result.detail);
  }
}
