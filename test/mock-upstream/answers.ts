/**
 * Answers the mock builds when no recording fits the request, in the shapes of the recordings
 * (modern chat chunks: service_tier, system_fingerprint, obfuscation; `usage:null` on every
 * chunk only when the client asked for include_usage).
 */
import { randomBytes } from 'node:crypto';

const WORDS = ['Hello', ' from', ' the', ' mock', ' upstream', ',', ' one', ' token', ' at', ' a', ' time', '.'];

export interface StreamShape {
  model: string;
  chunks: number;
  includeUsage: boolean;
  /** Names the answer (`chatcmpl-mock<id>`); answers with the same id are byte-identical. */
  id: number;
  /** Send no usage at all, even when asked (some OpenAI-compatible servers). */
  omitUsage?: boolean;
  /** Repeat the running usage on every chunk (some OpenAI-compatible servers). */
  cumulativeUsage?: boolean;
}

function streamText(chunks: number): string {
  let text = '';
  for (let i = 0; i < chunks; i++) text += WORDS[i % WORDS.length];
  return text;
}

/** The SSE events (each `data: …\n\n`) of a streamed chat completion with `chunks` content deltas. */
export function chatStreamEvents(shape: StreamShape): string[] {
  const id = `chatcmpl-mock${shape.id}`;
  const created = 1_770_950_778;
  const head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":"${shape.model}","service_tier":"default","system_fingerprint":"fp_373a14eb6f","choices":`;
  const usageAt = (n: number) =>
    `{"prompt_tokens":12,"completion_tokens":${n},"total_tokens":${12 + n},"prompt_tokens_details":{"cached_tokens":${shape.cumulativeUsage ? 4 : 0},"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`;
  const usageField = (n: number) =>
    shape.cumulativeUsage ? `,"usage":${usageAt(n)}` : shape.includeUsage && !shape.omitUsage ? ',"usage":null' : '';
  const events: string[] = [];
  const push = (choices: string, n: number) =>
    events.push(`data: ${head}${choices}${usageField(n)},"obfuscation":"ob${events.length}"}\n\n`);
  push(
    '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]',
    0,
  );
  for (let i = 0; i < shape.chunks; i++) {
    push(
      `[{"index":0,"delta":{"content":${JSON.stringify(WORDS[i % WORDS.length])}},"logprobs":null,"finish_reason":null}]`,
      i + 1,
    );
  }
  push('[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]', shape.chunks);
  if (shape.includeUsage && !shape.omitUsage && !shape.cumulativeUsage) {
    events.push(`data: ${head}[],"usage":${usageAt(shape.chunks)},"obfuscation":"ob${events.length}"}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}

export function chatCompletionJson(model: string): string {
  return (
    JSON.stringify(
      {
        id: 'chatcmpl-' + randomBytes(15).toString('base64url').slice(0, 29),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: streamText(5), refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: 12,
          completion_tokens: 5,
          total_tokens: 17,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_373a14eb6f',
      },
      null,
      2,
    ) + '\n'
  );
}

export function completionJson(model: string): string {
  return JSON.stringify({
    id: 'cmpl-' + randomBytes(15).toString('base64url').slice(0, 29),
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ text: streamText(5), index: 0, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
  });
}

export function responsesJson(model: string): string {
  const id = 'resp_' + randomBytes(24).toString('hex');
  return JSON.stringify({
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'completed',
    model,
    output: [
      {
        id: 'msg_' + randomBytes(24).toString('hex'),
        type: 'message',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', annotations: [], logprobs: [], text: streamText(5) }],
      },
    ],
    usage: {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 17,
    },
  });
}
