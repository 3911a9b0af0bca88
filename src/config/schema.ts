/**
 * The one source of truth for aifd's config: field names, defaults and checks. Objects are strict
 * (an unknown field is an error: typos are the commonest config bug). Types are inferred from here.
 */
import { z } from 'zod';
import { isTimeZone } from '../util/time-zone.js';
import { aclSchema, authSchema } from './schema-auth.js';
import {
  durationMs,
  timerMs,
  timerMsNumber,
  byteSize,
  rate,
  port,
  stringList,
  httpUrl,
  withoutApiVersion,
  outboundProxyUrl,
  routePrefix,
} from './schema-fields.js';

export { authSchema };

const listenSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8000),
    maxBodySize: byteSize('largest request body accepted (413 above it)').prefault('25mb'),
    shutdownGrace: timerMs('how long in-flight requests may run on after SIGTERM').prefault('30s'),
    trustProxy: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('proxy hops in front of aifd whose x-forwarded-for is believed'),
    headersTimeout: timerMs('a client must send its request headers within this (slowloris guard)').prefault('30s'),
    requestTimeout: timerMs('a client must send its whole request (headers and body) within this').prefault('5m'),
  })
  .refine((listen) => listen.headersTimeout <= listen.requestTimeout, {
    path: ['headersTimeout'],
    message: 'must not be longer than requestTimeout',
  });

const adminSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8001),
  token: z.string().min(1).optional(),
});

const timeoutsSchema = z.strictObject({
  connectMs: timerMsNumber.default(10_000),
  firstByteMs: timerMsNumber.default(600_000),
  streamFirstByteMs: timerMsNumber.default(60_000),
  idleMs: timerMsNumber.default(120_000),
});

/** One key; the message never shows it. A comma means a list that was meant to be spread. */
const poolKey = z
  .string()
  .min(1, 'a key must not be empty')
  .refine(
    (key) => !key.includes(','),
    'a key must not contain a comma; for a comma-separated list in one variable write "...${NAME}" as the array item',
  )
  .refine((key) => !/\s/.test(key), 'a key must not contain white space');

const poolKeySchema = z.union([
  poolKey,
  z.strictObject({
    key: poolKey,
    name: z.string().min(1).optional(),
    weight: z.number().positive().default(1),
    models: stringList.optional(),
  }),
]);

const upstreamSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "." or "-"'),
  route: routePrefix.default('/'),
  baseUrl: httpUrl.transform(withoutApiVersion),
  keys: z.array(poolKeySchema).default([]),
  retries: z.number().int().min(0).max(10).default(2),
  timeouts: timeoutsSchema.prefault({}),
  headers: z.record(z.string(), z.string()).default({}).describe('extra headers sent upstream'),
  query: z
    .record(z.string(), z.string())
    .default({})
    .describe('query parameters added to every forwarded URL (Azure: { "api-version": "2024-10-21" })'),
  keyHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .transform((name) => name.toLowerCase())
    .default('authorization')
    .describe(
      'header that carries a pool key: "authorization" sends "Bearer KEY"; any other (Azure: "api-key") sends the key as is',
    ),
  models: stringList
    .optional()
    .describe("model globs this upstream serves; on a shared route the request's model picks the upstream"),
  queue: z
    .strictObject({
      maxWait: timerMs('how long a request may wait for a usable key').prefault('10s'),
      maxLength: z.number().int().min(0).default(1000).describe('requests waiting at most; more get 429 at once'),
    })
    .prefault({}),
  checkEvery: timerMs('probe every key this often (0 = only on demand)').prefault('0s'),
  proxy: outboundProxyUrl
    .optional()
    .describe(
      'http(s) proxy to reach this upstream through (CONNECT for https); default: HTTPS_PROXY/HTTP_PROXY unless NO_PROXY names the host',
    ),
  tls: z
    .strictObject({
      ca: z.string().min(1).optional().describe("PEM file of a private CA that signs the upstream's certificate"),
    })
    .optional(),
  injectStreamUsage: z
    .boolean()
    .default(true)
    .describe('ask for usage on streamed chat/completions (and hide it from clients that did not)'),
  overQuotaRecheck: durationMs('how long an over-quota key rests before one request rechecks it').prefault('15m'),
});

/** Where an alias sends a request: a model (routed by the upstreams' model globs) or an upstream and model. */
const aliasTargetSchema = z.union([
  z.string().min(1),
  z.strictObject({ upstream: z.string().min(1).optional(), model: z.string().min(1) }),
]);

const aliasesSchema = z
  .record(z.string().min(1), z.union([aliasTargetSchema, z.array(aliasTargetSchema).min(1)]))
  .describe('model names users see, each mapped to a real model, or to a chain of them tried in order');

const budgetSchema = z.strictObject({
  daily: z.number().positive().optional().describe('USD per calendar day'),
  weekly: z.number().positive().optional().describe('USD per calendar week (Monday to Monday)'),
  monthly: z.number().positive().optional().describe('USD per calendar month'),
  soft: z.number().min(0).max(1).default(0.8).describe('share of a budget past which answers carry a warning'),
});

export const limitsSchema = z.strictObject({
  strategy: z.enum(['fixed-window', 'moving-window']).default('moving-window'),
  global: rate('requests per window for the whole gateway').optional(),
  user: z
    .strictObject({ requests: rate('requests per user').optional(), tokens: rate('tokens per user').optional() })
    .optional(),
  roles: z
    .record(
      z.string(),
      z.strictObject({
        requests: rate('requests per role member').optional(),
        tokens: rate('tokens per role member').optional(),
      }),
    )
    .optional(),
  ip: rate('requests per client address').optional(),
  ipAppliesTo: z
    .enum(['anonymous', 'all'])
    .default('anonymous')
    .describe('who limits.ip counts: anonymous callers only, or every caller (each address on its own)'),
  routes: z
    .record(z.string(), rate('requests per route, one count shared by every caller'))
    .optional()
    .describe('per API path, one count shared by every caller'),
  routesPerUser: z
    .record(z.string(), rate('requests per route for each caller'))
    .optional()
    .describe(
      "per API path, counted for each user on their own (anonymous callers per address): openai-forward's REQ_RATE_LIMIT",
    ),
  streamTokenRate: rate('streamed chunks per second per stream').optional(),
  budgets: z
    .strictObject({
      timezone: z.string().default('UTC').refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin'),
      users: z.record(z.string(), budgetSchema).optional().describe('per user ("*" for every user)'),
      roles: z.record(z.string(), budgetSchema).optional().describe('per role member'),
      unpriced: z
        .enum(['deny', 'allow'])
        .default('deny')
        .describe(
          'a request for a model without a price, from a caller with a USD budget: refused (deny), or let through uncounted (allow)',
        ),
    })
    .optional(),
  typicalOutputTokens: z
    .number()
    .int()
    .positive()
    .default(512)
    .describe('reserved for an answer when the request sets no max_tokens'),
  onStoreDown: z
    .enum(['open', 'closed'])
    .default('open')
    .describe(
      'while Redis is unreachable: open = each instance counts on its own; closed = refuse requests that limits would count',
    ),
});

const cacheSchema = z.strictObject({
  chatCompletions: z.boolean().default(false),
  ttl: durationMs('how long an entry lives').prefault('1h'),
  scope: z.enum(['global', 'user']).default('user'),
  maxEntrySize: byteSize('largest answer stored').prefault('1mb'),
});

const logsSchema = z.strictObject({
  dir: z.string().min(1).default('./aifd-logs'),
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  access: z.boolean().default(true),
  chat: z.boolean().default(false),
  sink: z
    .string()
    .regex(
      /^(auto|none|sqlite:\/\/.+|postgres(ql)?:\/\/.+|mysql:\/\/.+|mariadb:\/\/.+)$/,
      'must be auto, none, sqlite://PATH, postgres://… or mysql://…',
    )
    .default('auto')
    .describe('SQL database for request records (aifd usage reads it); auto = the SQLite store'),
});

const storeUrl = z
  .string()
  .regex(
    /^(sqlite:\/\/.+|memory:\/\/|redis:\/\/.+|rediss:\/\/.+)$/,
    'must be sqlite://PATH, memory:// or redis://HOST:PORT',
  )
  .default('sqlite://./aifd-data/state.sqlite');

const alertsSchema = z.strictObject({
  webhook: httpUrl.describe('where alerts are POSTed'),
  format: z.enum(['json', 'slack', 'feishu', 'matrix']).default('json').describe('the body shape the receiver expects'),
  throttle: durationMs('one message per incident in this time at most').prefault('15m'),
});

const priceSchema = z.strictObject({
  input: z.number().min(0).describe('USD per 1M prompt tokens'),
  output: z.number().min(0).default(0).describe('USD per 1M completion tokens'),
  cachedInput: z.number().min(0).optional().describe('USD per 1M cached prompt tokens (default: input)'),
  audioInput: z.number().min(0).optional().describe('USD per 1M audio prompt tokens (default: input)'),
  cachedAudioInput: z
    .number()
    .min(0)
    .optional()
    .describe('USD per 1M cached audio prompt tokens (default: cachedInput)'),
  audioOutput: z.number().min(0).optional().describe('USD per 1M audio completion tokens (default: output)'),
  imageInput: z
    .number()
    .min(0)
    .optional()
    .describe('USD per 1M image prompt tokens, where the API counts them apart (default: input)'),
});

export const hubConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    listen: listenSchema.prefault({}),
    admin: adminSchema.prefault({}),
    store: storeUrl,
    storePrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]*$/, 'use letters, digits, "_", ".", ":" or "-"')
      .default('aifd:')
      .describe('prefix of every key aifd writes in Redis (gateways sharing one Redis use different prefixes)'),
    upstreams: z.array(upstreamSchema).min(1, 'at least one upstream is needed'),
    aliases: aliasesSchema.optional(),
    auth: authSchema.optional(),
    acl: aclSchema.optional(),
    limits: limitsSchema.optional(),
    cache: cacheSchema.prefault({}),
    logs: logsSchema.prefault({}),
    alerts: alertsSchema.optional().describe('a webhook for key, upstream and budget incidents'),
    prices: z
      .record(z.string(), priceSchema)
      .optional()
      .describe('per-model prices (model globs), merged over the built-in table'),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    const catchAllRoutes = new Set<string>();
    config.upstreams.forEach((upstream, index) => {
      if (names.has(upstream.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['upstreams', index, 'name'],
          message: `upstream name "${upstream.name}" is used twice`,
        });
      }
      if (!upstream.models) {
        if (catchAllRoutes.has(upstream.route)) {
          ctx.addIssue({
            code: 'custom',
            path: ['upstreams', index, 'route'],
            message: `route "${upstream.route}" is used twice; upstreams sharing a route need "models" (at most one may serve every other model)`,
          });
        }
        catchAllRoutes.add(upstream.route);
      }
      names.add(upstream.name);
    });
    for (const [alias, targets] of Object.entries(config.aliases ?? {})) {
      (Array.isArray(targets) ? targets : [targets]).forEach((target, index) => {
        if (typeof target === 'object' && target.upstream !== undefined && !names.has(target.upstream)) {
          ctx.addIssue({
            code: 'custom',
            path: ['aliases', alias, index, 'upstream'],
            message: `there is no upstream named "${target.upstream}"`,
          });
        }
      });
    }
    config.upstreams.forEach((upstream, at) => {
      const seen = new Map<string, number>();
      upstream.keys.forEach((entry, index) => {
        const key = typeof entry === 'string' ? entry : entry.key;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, index);
        else
          ctx.addIssue({
            code: 'custom',
            path: ['upstreams', at, 'keys', index],
            message: `the same key as keys[${first}]; list each pool key once (a weight says how much traffic it takes)`,
          });
      });
    });
    const hasPoolKeys = config.upstreams.some((upstream) => upstream.keys.length > 0);
    if (hasPoolKeys && !config.auth) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message:
          'upstreams hold pool keys but there is no auth section; add auth (jwt or forwardKeys) or "auth": { "anonymous": true } to open the pool on purpose',
      });
    }
  });

export type HubConfigInput = z.input<typeof hubConfigSchema>;
export type HubConfig = z.output<typeof hubConfigSchema>;
export type UpstreamConfig = HubConfig['upstreams'][number];
export type PoolKeyConfig = UpstreamConfig['keys'][number];
export type AuthConfig = z.output<typeof authSchema>;
export type AliasesConfig = z.output<typeof aliasesSchema>;
export type AclConfig = z.output<typeof aclSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type PriceConfig = z.output<typeof priceSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type AlertsConfig = z.output<typeof alertsSchema>;
