/**
 * `${NAME}` and `${NAME:-fallback}` in string values, so secrets stay out of config files; and
 * `"...${NAME}"` as a whole array item, which spreads the variable's comma-separated list into the
 * array (`"keys": ["...${OPENAI_API_KEY}"]` with `OPENAI_API_KEY=sk-a,sk-b`).
 */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const SPREAD = /^\.\.\.(\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})$/;

export type PathError = (fieldPath: string, problem: string) => Error;

/**
 * Replaces every placeholder. `fromEnv` collects the paths (as `formatPath` writes them) of the
 * values that came from a variable, so that validation can read "true" or "8000" as what the field wants.
 */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  fail: PathError,
  fromEnv: Set<string> = new Set(),
  at: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    fromEnv.add(formatPath(at));
    return interpolateString(value, env, fail, at);
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, index) => {
      const spread = typeof item === 'string' ? SPREAD.exec(item) : null;
      if (!spread) {
        out.push(interpolateEnv(item, env, fail, fromEnv, [...at, out.length]));
        return;
      }
      const list = interpolateString(spread[1]!, env, fail, [...at, index]);
      for (const part of list.split(',').map((entry) => entry.trim())) if (part.length > 0) out.push(part);
    });
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value))
      out[key] = interpolateEnv(child, env, fail, fromEnv, [...at, key]);
    return out;
  }
  return value;
}

function interpolateString(text: string, env: NodeJS.ProcessEnv, fail: PathError, at: (string | number)[]): string {
  if (!text.includes('${')) return text;
  return text.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    throw fail(formatPath(at), `environment variable ${name} is not set`);
  });
}

/** ['upstreams', 0, 'keys', 1] → `upstreams[0].keys[1]` */
export function formatPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}
