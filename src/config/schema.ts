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

const tlsSchema = z
  .strictObject({
    cert: z.string().min(1).describe('PEM certificate file (with its chain), relative to the config file'),
    key: z.string().min(1).describe('PEM private key file of that certificate'),
  })
  .describe('serve HTTPS (and WSS) with this certificate; read again on SIGHUP');

const listenSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1').describe('address the API listens on'),
    port: port.default(8000).describe('port the API listens on (0: any free port)'),
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
    tls: tlsSchema.optional(),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1)])
      .default(1)
      .describe('worker processes behind the one port (auto: one per core); limits, logs and admin stay one'),
  })
  .refine((listen) => listen.headersTimeout <= listen.requestTimeout, {
    path: ['headersTimeout'],
    message: 'must not be longer than requestTimeout',
  });

const adminSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('serve the admin API (state, metrics, reload, events for aifd top)'),
  host: z.string().min(1).default('127.0.0.1').describe('address the admin API listens on'),
  port: port.default(8001).describe('port the admin API listens on'),
  token: z.string().min(1).optional().describe('bearer token the admin API asks for (required off loopback)'),
  tls: tlsSchema.optional(),
});

const timeoutsSchema = z.strictObject({
  connectMs: timerMsNumber.default(10_000).describe('ms to connect to the upstream before trying another key'),
  firstByteMs: timerMsNumber.default(600_000).describe('ms to the first byte of a non-streamed answer'),
  streamFirstByteMs: timerMsNumber.default(60_000).describe('ms to the first byte of a stream'),
  idleMs: timerMsNumber.default(120_000).describe('ms a stream may go silent before it is ended with an error event'),
  sessionIdleMs: timerMsNumber
    .default(600_000)
    .describe('ms a WebSocket session may pass no frame either way before aifd closes it'),
  sessionMaxMs: timerMsNumber.default(7_200_000).describe('ms a WebSocket session may last at most'),
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
    key: poolKey.describe('the key itself (write "${NAME}" to read it from the environment)'),
    name: z.string().min(1).optional().describe('a name for the key in views and logs'),
    weight: z.number().positive().default(1).describe("the key's share of the traffic, against the others"),
    models: stringList.optional().describe('model globs this key may serve'),
  }),
]);

const upstreamFields = z.strictObject({
  api: z
    .enum(['openai', 'anthropic'])
    .default('openai')
    .describe(
      'the API the upstream speaks: openai (OpenAI and compatible servers) or anthropic (the Messages API); each is forwarded as it is',
    ),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, "_", "." or "-"')
    .describe("the upstream's name in ACL rules, logs and views"),
  route: routePrefix.default('/').describe('path prefix that reaches this upstream ("/" or e.g. "/local")'),
  baseUrl: httpUrl.transform(withoutApiVersion).describe("where the upstream's API is, e.g. https://api.openai.com"),
  keys: z
    .array(poolKeySchema)
    .default([])
    .describe("the pool: keys aifd sends requests with (none: the client's own key is forwarded)"),
  retries: z.number().int().min(0).max(10).default(2).describe('attempts on other keys after a failed one'),
  timeouts: timeoutsSchema.prefault({}).describe('how long each step of an attempt may take'),
  headers: z.record(z.string(), z.string()).default({}).describe('extra headers sent upstream'),
  query: z
    .record(z.string(), z.string())
    .default({})
    .describe('query parameters added to every forwarded URL (Azure: { "api-version": "2024-10-21" })'),
  keyHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .transform((name) => name.toLowerCase())
    .optional()
    .describe(
      'header that carries a pool key: "authorization" sends "Bearer KEY"; any other (Azure: "api-key") sends the key as is. Default: authorization, or x-api-key for api anthropic',
    ),
  models: stringList
    .optional()
    .describe("model globs this upstream serves; on a shared route the request's model picks the upstream"),
  queue: z
    .strictObject({
      maxWait: timerMs('how long a request may wait for a usable key').prefault('10s'),
      maxLength: z.number().int().min(0).default(1000).describe('requests waiting at most; more get 429 at once'),
    })
    .prefault({})
    .describe('requests waiting for a usable key'),
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
    .optional()
    .describe('TLS to the upstream'),
  injectStreamUsage: z
    .boolean()
    .default(true)
    .describe('ask for usage on streamed chat/completions (and hide it from clients that did not)'),
  overQuotaRecheck: durationMs('how long an over-quota key rests before one request rechecks it').prefault('15m'),
});

/** An upstream, with the key header its API expects unless another is named. */
const upstreamSchema = upstreamFields.transform((upstream) => ({
  ...upstream,
  keyHeader: upstream.keyHeader ?? (upstream.api === 'anthropic' ? 'x-api-key' : 'authorization'),
}));

/** Where an alias sends a request: a model (routed by the upstreams' model globs) or an upstream and model. */
const aliasTargetSchema = z.union([
  z.string().min(1),
  z.strictObject({
    upstream: z.string().min(1).optional().describe('the upstream to send it to (default: by the model globs)'),
    model: z.string().min(1).describe('the real model'),
  }),
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
  strategy: z
    .enum(['fixed-window', 'moving-window'])
    .default('moving-window')
    .describe('how request and token windows count: reset at each window, or sliding'),
  global: rate('requests per window for the whole gateway').optional(),
  user: z
    .strictObject({ requests: rate('requests per user').optional(), tokens: rate('tokens per user').optional() })
    .optional()
    .describe("each user's own limits (anonymous callers by address)"),
  roles: z
    .record(
      z.string(),
      z.strictObject({
        requests: rate('requests per role member').optional(),
        tokens: rate('tokens per role member').optional(),
      }),
    )
    .optional()
    .describe("limits for each member of a role, on top of the user's own"),
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
      timezone: z
        .string()
        .default('UTC')
        .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
        .describe('where calendar days, weeks and months begin'),
      users: z.record(z.string(), budgetSchema).optional().describe('per user ("*" for every user)'),
      roles: z.record(z.string(), budgetSchema).optional().describe('per role member'),
      unpriced: z
        .enum(['deny', 'allow'])
        .default('deny')
        .describe(
          'a request for a model without a price, from a caller with a USD budget: refused (deny), or let through uncounted (allow)',
        ),
    })
    .optional()
    .describe('USD budgets per calendar period, priced by `prices`'),
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
  chatCompletions: z.boolean().default(false).describe('cache every chat completion, without the client asking'),
  ttl: durationMs('how long an entry lives').prefault('1h'),
  scope: z
    .enum(['global', 'user'])
    .default('user')
    .describe("whose requests share entries: each user's own, or everyone's"),
  maxEntrySize: byteSize('largest answer stored').prefault('1mb'),
});

const logsSchema = z.strictObject({
  dir: z.string().min(1).default('./aifd-logs').describe('folder of the access, chat and diagnostics logs'),
  level: z.enum(['error', 'warn', 'info', 'debug']).default('info').describe('how much the diagnostics log says'),
  access: z.boolean().default(true).describe('one JSON line per request'),
  chat: z
    .boolean()
    .default(false)
    .describe('one JSON line per chat: the messages and the answer (holds what users wrote)'),
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
  .default('sqlite://./aifd-data/state.sqlite')
  .describe('where key state, counters, revocations and the cache live: sqlite://PATH, memory:// or redis://HOST:PORT');

const alertsSchema = z.strictObject({
  webhook: httpUrl.describe('where alerts are POSTed'),
  format: z.enum(['json', 'slack', 'feishu', 'matrix']).default('json').describe('the body shape the receiver expects'),
  throttle: durationMs('one message per incident in this time at most').prefault('15m'),
});

const otlpSchema = z.strictObject({
  endpoint: httpUrl.describe(
    'the OTLP/HTTP receiver (an OpenTelemetry collector), e.g. http://127.0.0.1:4318; /v1/traces and /v1/metrics are added',
  ),
  headers: z
    .record(z.string(), z.string())
    .default({})
    .describe('headers sent with every export, e.g. a vendor API key (write it as ${ENV_VAR})'),
  sampling: z
    .number()
    .min(0)
    .max(1)
    .default(1)
    .describe("share of requests traced, 0 to 1 (a client's traceparent decides for its own requests)"),
  metricsInterval: timerMs('how often the GenAI metrics are exported').prefault('60s'),
  serviceName: z.string().min(1).default('aifd').describe('service.name of the spans and metrics'),
});

const telemetrySchema = z.strictObject({
  otlp: otlpSchema.optional().describe('export a span per request and the GenAI metrics over OTLP/HTTP (protobuf)'),
});

const priceSchema = z.strictObject({
  input: z.number().min(0).describe('USD per 1M prompt tokens'),
  output: z.number().min(0).default(0).describe('USD per 1M completion tokens'),
  cachedInput: z.number().min(0).optional().describe('USD per 1M cached prompt tokens (default: input)'),
  cacheWriteInput: z
    .number()
    .min(0)
    .optional()
    .describe("USD per 1M prompt tokens written to the prompt cache (Anthropic's 5-minute writes; default: input)"),
  cacheWrite1hInput: z
    .number()
    .min(0)
    .optional()
    .describe('USD per 1M prompt tokens written to the cache for an hour (default: cacheWriteInput)'),
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
    $schema: z.string().optional().describe('the JSON Schema this file follows (editors read it)'),
    listen: listenSchema.prefault({}).describe('the API listener'),
    admin: adminSchema.prefault({}).describe('the admin listener'),
    store: storeUrl,
    storePrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]*$/, 'use letters, digits, "_", ".", ":" or "-"')
      .default('aifd:')
      .describe('prefix of every key aifd writes in Redis (gateways sharing one Redis use different prefixes)'),
    upstreams: z
      .array(upstreamSchema)
      .min(1, 'at least one upstream is needed')
      .describe('where requests go, and with which keys'),
    aliases: aliasesSchema.optional(),
    auth: authSchema.optional().describe('who may call (none: anyone who reaches the listener)'),
    acl: aclSchema.optional().describe('which caller may use which upstream, path and model'),
    limits: limitsSchema.optional().describe('request and token limits, USD budgets, stream pacing'),
    cache: cacheSchema.prefault({}).describe('the response cache'),
    logs: logsSchema.prefault({}).describe('access, chat and diagnostics logs, and the SQL sink'),
    alerts: alertsSchema.optional().describe('a webhook for key, upstream and budget incidents'),
    telemetry: telemetrySchema.prefault({}).describe('OpenTelemetry export (off unless otlp is set)'),
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
      // An OpenAI and an Anthropic upstream may share a route without models: each API has its own paths.
      const catchAll = `${upstream.api} ${upstream.route}`;
      if (!upstream.models) {
        if (catchAllRoutes.has(catchAll)) {
          ctx.addIssue({
            code: 'custom',
            path: ['upstreams', index, 'route'],
            message: `route "${upstream.route}" is used twice; upstreams of one API sharing a route need "models" (at most one may serve every other model)`,
          });
        }
        catchAllRoutes.add(catchAll);
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
export type OtlpConfig = z.output<typeof otlpSchema>;
