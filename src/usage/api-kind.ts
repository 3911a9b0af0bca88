/** Which OpenAI API a request's path calls, decided once per request (`ctx.api`). */
export type ApiKind = 'chat' | 'completions' | 'embeddings' | 'responses' | 'realtime' | 'other';

export function apiKindOf(path: string): ApiKind {
  const end = path.split('?', 1)[0]!;
  if (end.endsWith('/chat/completions')) return 'chat';
  if (end.endsWith('/completions')) return 'completions';
  if (end.endsWith('/embeddings')) return 'embeddings';
  if (end.endsWith('/responses')) return 'responses';
  if (end.endsWith('/realtime')) return 'realtime';
  return 'other';
}

/** APIs whose POSTs are billed in tokens. */
export function consumesTokens(method: string, api: ApiKind): boolean {
  return method === 'POST' && api !== 'other' && api !== 'realtime';
}
