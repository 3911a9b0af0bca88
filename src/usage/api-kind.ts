/** Which API a request's path calls, decided once per request (`ctx.api`). */
export type ApiKind = 'chat' | 'completions' | 'embeddings' | 'responses' | 'realtime' | 'messages' | 'other';

/** The API family a client speaks: OpenAI's (and compatible servers'), or Anthropic's Messages API. */
export type ClientApi = 'openai' | 'anthropic';

export function apiKindOf(path: string, family: ClientApi = 'openai'): ApiKind {
  const end = path.split('?', 1)[0]!;
  if (family === 'anthropic') return end.endsWith('/v1/messages') ? 'messages' : 'other';
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
