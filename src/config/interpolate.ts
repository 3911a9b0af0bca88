/** `${NAME}` and `${NAME:-fallback}` in string values, so secrets stay out of config files. */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type PathError = (fieldPath: string, problem: string) => Error;

export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, fail: PathError, at: (string | number)[] = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, fail, at);
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, env, fail, [...at, index]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = interpolateEnv(child, env, fail, [...at, key]);
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
