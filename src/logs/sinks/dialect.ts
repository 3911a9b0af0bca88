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
  errors: number;
}

/** What a SQL database must do for the sink and for `aifd usage`. */
export interface SqlDialect {
  readonly name: string;
  /** Creates the table if it is missing. */
  prepare(): Promise<void>;
  insert(records: readonly AccessRecord[]): Promise<void>;
  summarize(by: UsageDimension, since: Date): Promise<UsageRow[]>;
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
  return `SELECT ${group} AS grp, COALESCE(model, '(none)') AS mdl, COUNT(*) AS requests,
    COALESCE(SUM(prompt_tokens), 0) AS prompt, COALESCE(SUM(completion_tokens), 0) AS completion,
    COALESCE(SUM(cached_tokens), 0) AS cached, COALESCE(SUM(audio_prompt_tokens), 0) AS audio_prompt,
    COALESCE(SUM(audio_completion_tokens), 0) AS audio_completion, COALESCE(SUM(image_prompt_tokens), 0) AS image_prompt,
    COALESCE(SUM(reasoning_tokens), 0) AS reasoning, SUM(CASE WHEN error IS NOT NULL OR status >= 400 THEN 1 ELSE 0 END) AS errors
    FROM aifd_requests WHERE ts >= ${placeholder} GROUP BY ${group}, COALESCE(model, '(none)') ORDER BY 1, 2`;
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
    errors: Number(row.errors),
  }));
}
