import type { AccessRecord } from '../access-record.js';

export type UsageDimension = 'user' | 'model' | 'key' | 'day';

/** One group of the usage report, per model so that each can be priced. */
export interface UsageRow {
  group: string;
  model: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  audioPromptTokens: number;
  audioCompletionTokens: number;
  imagePromptTokens: number;
  reasoningTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  errors: number;
  /** Requests answered from aifd's cache: no upstream billed them (their usage is what they saved). */
  fromCache: boolean;
}

/** Where a page of records left off: the last one's time and id. */
interface RecordCursor {
  ts: string;
  id: string;
}

/** What a SQL database must do for the sink and for `aifd usage`. */
export interface SqlDialect {
  readonly name: string;
  /** Creates the table if it is missing. */
  prepare(): Promise<void>;
  insert(records: readonly AccessRecord[]): Promise<void>;
  summarize(by: UsageDimension, since: Date): Promise<UsageRow[]>;
  /** Up to `limit` records from `since` to `until`, in time order, after `after` (for the usage report). */
  recordsPage(since: Date, until: Date, after: RecordCursor | undefined, limit: number): Promise<AccessRecord[]>;
  close(): Promise<void>;
}

/** The columns of `aifd_requests`, in insert order, and the access-record field each holds. */
const RECORD_COLUMNS = [
  ['id', 'id'],
  ['ts', 'ts'],
  ['user_name', 'user'],
  ['ip', 'ip'],
  ['method', 'method'],
  ['route', 'route'],
  ['path', 'path'],
  ['model', 'model'],
  ['stream', 'stream'],
  ['status', 'status'],
  ['upstream', 'upstream'],
  ['key_hash', 'key'],
  ['attempts', 'attempts'],
  ['cache', 'cache'],
  ['ttfb_ms', 'ttfbMs'],
  ['duration_ms', 'durationMs'],
  ['prompt_tokens', 'usage.prompt_tokens'],
  ['completion_tokens', 'usage.completion_tokens'],
  ['total_tokens', 'usage.total_tokens'],
  ['cached_tokens', 'usage.cached_tokens'],
  ['usage_source', 'usageSource'],
  ['error', 'error'],
  ['audio_prompt_tokens', 'usage.audio_prompt_tokens'],
  ['audio_completion_tokens', 'usage.audio_completion_tokens'],
  ['image_prompt_tokens', 'usage.image_prompt_tokens'],
  ['reasoning_tokens', 'usage.reasoning_tokens'],
  ['cache_write_tokens', 'usage.cache_write_tokens'],
  ['cache_write_1h_tokens', 'usage.cache_write_1h_tokens'],
] as const;

/**
 * Columns added after the table's first version, each an integer: `prepare` adds the ones an
 * existing table lacks, so old rows stay (with nulls there) and old and new tables end up alike.
 */
const ADDED_COLUMNS = [
  'audio_prompt_tokens',
  'audio_completion_tokens',
  'image_prompt_tokens',
  'reasoning_tokens',
  'cache_write_tokens',
  'cache_write_1h_tokens',
] as const;

/** The added columns a table with `existing` columns still lacks. */
export function missingColumns(existing: readonly string[]): string[] {
  const have = new Set(existing.map((name) => name.toLowerCase()));
  return ADDED_COLUMNS.filter((name) => !have.has(name));
}

export const COLUMNS = RECORD_COLUMNS.map(([column]) => column);

/** Where each column's value sits in a record's JSON, for databases that read the records as JSON. */
export const JSON_PATHS = RECORD_COLUMNS.map(([, field]) => `$.${field}`);

const FIELD_PATHS = RECORD_COLUMNS.map(([, field]) => field.split('.'));

/** A record's values in column order (null for what it lacks). */
export function rowOf(record: AccessRecord): unknown[] {
  return FIELD_PATHS.map((path) => {
    let value: unknown = record;
    for (const name of path) value = (value as Record<string, unknown> | null | undefined)?.[name];
    return value ?? null;
  });
}

/** The SQL expression that names a group, per dimension (`day` differs per database). */
function groupColumn(by: UsageDimension, day: string): string {
  switch (by) {
    case 'user':
      return "COALESCE(user_name, '(none)')";
    case 'model':
      return "COALESCE(model, '(none)')";
    case 'key':
      return "COALESCE(key_hash, '(none)')";
    case 'day':
      return day;
  }
}

export function summarySql(by: UsageDimension, day: string, placeholder: string): string {
  const group = groupColumn(by, day);
  const hit = "CASE WHEN cache = 'hit' THEN 1 ELSE 0 END";
  return `SELECT ${group} AS grp, COALESCE(model, '(none)') AS mdl, ${hit} AS hit, COUNT(*) AS requests,
    COALESCE(SUM(prompt_tokens), 0) AS prompt, COALESCE(SUM(completion_tokens), 0) AS completion,
    COALESCE(SUM(cached_tokens), 0) AS cached, COALESCE(SUM(audio_prompt_tokens), 0) AS audio_prompt,
    COALESCE(SUM(audio_completion_tokens), 0) AS audio_completion, COALESCE(SUM(image_prompt_tokens), 0) AS image_prompt,
    COALESCE(SUM(reasoning_tokens), 0) AS reasoning, COALESCE(SUM(cache_write_tokens), 0) AS cache_write,
    COALESCE(SUM(cache_write_1h_tokens), 0) AS cache_write_1h, SUM(CASE WHEN error IS NOT NULL OR status >= 400 THEN 1 ELSE 0 END) AS errors
    FROM aifd_requests WHERE ts >= ${placeholder} GROUP BY ${group}, COALESCE(model, '(none)'), ${hit} ORDER BY 1, 2, 3`;
}

export function toUsageRows(rows: Record<string, unknown>[]): UsageRow[] {
  return rows.map((row) => ({
    group: String(row.grp),
    model: String(row.mdl),
    requests: Number(row.requests),
    promptTokens: Number(row.prompt),
    completionTokens: Number(row.completion),
    cachedTokens: Number(row.cached),
    audioPromptTokens: Number(row.audio_prompt),
    audioCompletionTokens: Number(row.audio_completion),
    imagePromptTokens: Number(row.image_prompt),
    reasoningTokens: Number(row.reasoning),
    cacheWriteTokens: Number(row.cache_write),
    cacheWrite1hTokens: Number(row.cache_write_1h),
    errors: Number(row.errors),
    fromCache: Number(row.hit) === 1,
  }));
}

/**
 * A page of rows in time order (then id, so that rows with the same time page in a fixed order):
 * keyset paging, each page found through the ts index whatever its place in the table. `p(n)`
 * writes the database's n-th placeholder and `time` a time as the database compares it (SQLite's
 * ISO text, the others' dates); the parameters are since, until, and with a cursor its ts twice
 * and its id.
 */
export function pageQuery(
  p: (n: number) => string,
  time: (at: Date) => unknown,
  page: { since: Date; until: Date; after: RecordCursor | undefined; limit: number },
): { sql: string; params: unknown[] } {
  const { after } = page;
  const cursor = after ? ` AND (ts > ${p(3)} OR (ts = ${p(4)} AND id > ${p(5)}))` : '';
  const at = after && time(new Date(after.ts));
  return {
    sql: `SELECT ${COLUMNS.join(', ')} FROM aifd_requests WHERE ts >= ${p(1)} AND ts < ${p(2)}${cursor} ORDER BY ts, id LIMIT ${Math.floor(page.limit)}`,
    params: [time(page.since), time(page.until), ...(after ? [at, at, after.id] : [])],
  };
}

const USAGE_COLUMNS = [
  ['cached_tokens', 'cached_tokens'],
  ['audio_prompt_tokens', 'audio_prompt_tokens'],
  ['audio_completion_tokens', 'audio_completion_tokens'],
  ['image_prompt_tokens', 'image_prompt_tokens'],
  ['reasoning_tokens', 'reasoning_tokens'],
  ['cache_write_tokens', 'cache_write_tokens'],
  ['cache_write_1h_tokens', 'cache_write_1h_tokens'],
] as const;

const numberOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** A row of `aifd_requests` as the access record it was made from (what the table does not keep is left empty). */
export function recordOfRow(row: Record<string, unknown>): AccessRecord {
  const ts = row.ts instanceof Date ? row.ts.toISOString() : String(row.ts);
  let usage: AccessRecord['usage'] = null;
  if (row.prompt_tokens !== null && row.prompt_tokens !== undefined) {
    usage = {
      prompt_tokens: Number(row.prompt_tokens),
      completion_tokens: Number(row.completion_tokens ?? 0),
      total_tokens: Number(row.total_tokens ?? 0),
    };
    for (const [column, field] of USAGE_COLUMNS)
      if (row[column] !== null && row[column] !== undefined) usage[field] = Number(row[column]);
  }
  return {
    ts,
    id: String(row.id),
    user: (row.user_name as string | null) ?? null,
    ip: String(row.ip ?? ''),
    method: String(row.method ?? ''),
    route: (row.route as string | null) ?? null,
    path: String(row.path ?? ''),
    model: (row.model as string | null) ?? null,
    alias: null,
    stream: Boolean(row.stream),
    status: numberOrNull(row.status),
    upstream: (row.upstream as string | null) ?? null,
    key: (row.key_hash as string | null) ?? null,
    attempts: Number(row.attempts ?? 0),
    cache: (row.cache as AccessRecord['cache']) ?? null,
    ttfbMs: numberOrNull(row.ttfb_ms),
    overheadMs: null,
    queueMs: 0,
    durationMs: Number(row.duration_ms ?? 0),
    usage,
    usageSource: (row.usage_source as AccessRecord['usageSource']) ?? null,
    error: (row.error as string | null) ?? null,
  };
}

/** Every record from `since` to `until`, in time order, a page at a time (memory holds one page). */
export async function forEachRecord(
  dialect: SqlDialect,
  since: Date,
  until: Date,
  each: (record: AccessRecord) => void,
  pageSize = 5000,
): Promise<void> {
  let after: RecordCursor | undefined;
  for (;;) {
    const page = await dialect.recordsPage(since, until, after, pageSize);
    for (const record of page) each(record);
    if (page.length < pageSize) return;
    const last = page.at(-1)!;
    after = { ts: last.ts, id: last.id };
  }
}
