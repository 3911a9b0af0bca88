import { describe, expect, it } from 'vitest';
import { inspectBody as inspectNow } from '../../src/proxy/inspect-body.js';
import { AifdError } from '../../src/errors.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** inspectBody answers JSON synchronously (and throws); as a promise, both ways read alike here. */
const inspectBody = async (...args: Parameters<typeof inspectNow>) => inspectNow(...args);

it('answers a JSON body without a promise, a multipart one with one', () => {
  expect(inspectNow('application/json', json({ model: 'gpt-4o' }), '/v1/chat/completions')).not.toBeInstanceOf(Promise);
  const form = multipart([['model', 'whisper-1']]);
  expect(inspectNow(form.type, form.body, '/v1/audio/transcriptions')).toBeInstanceOf(Promise);
});

function multipart(
  fields: [string, string][],
  fileBytes = Buffer.from('RIFF....WAVE'),
): { type: string; body: Buffer } {
  const boundary = '----aifdtest' + 'x'.repeat(8);
  const parts: Buffer[] = [];
  for (const [name, value] of fields)
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
    ),
    fileBytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { type: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

describe('inspectBody', () => {
  it('reads JSON by its media type, parameters and all', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'Application/JSON;charset=UTF-8',
      'application/vnd.api+json',
    ]) {
      expect(await inspectBody(type, json({ model: 'gpt-4o', stream: true }), '/v1/chat/completions')).toMatchObject({
        model: 'gpt-4o',
        stream: true,
        modelUnknown: false,
      });
    }
  });
  it('reads a JSON object sent under an odd media type, and calls anything else unreadable', async () => {
    expect(await inspectBody('text/plain', json({ model: 'gpt-4o' }), '/v1/chat/completions')).toMatchObject({
      model: 'gpt-4o',
    });
    expect(await inspectBody(undefined, json({ model: 'gpt-4o' }), '/v1/chat/completions')).toMatchObject({
      model: 'gpt-4o',
    });
    expect(await inspectBody('application/octet-stream', Buffer.from([1, 2, 3]), '/v1/files')).toMatchObject({
      model: undefined,
      modelUnknown: true,
    });
    expect(await inspectBody('application/json', json({ messages: [] }), '/v1/chat/completions')).toMatchObject({
      model: undefined,
      modelUnknown: true,
    });
    expect(await inspectBody('application/json', json([1, 2]), '/v1/chat/completions')).toMatchObject({
      modelUnknown: true,
    });
  });
  it('refuses bad JSON and wrongly typed fields', async () => {
    await expect(inspectBody('application/json', Buffer.from('{"model":'), '/v1/x')).rejects.toMatchObject({
      code: 'invalid_json',
    });
    await expect(inspectBody('application/json', json({ model: 42 }), '/v1/x')).rejects.toMatchObject({
      code: 'invalid_request',
      param: 'model',
    });
    await expect(inspectBody('application/json', json({ model: 'a', stream: 'yes' }), '/v1/x')).rejects.toBeInstanceOf(
      AifdError,
    );
  });
  it('refuses a duplicated top-level model, but not a nested one', async () => {
    const duplicated = Buffer.from('{"model":"gpt-4o-mini","messages":[],"model":"gpt-4o"}');
    await expect(inspectBody('application/json', duplicated, '/v1/x')).rejects.toMatchObject({
      code: 'invalid_request',
    });
    const nested = json({
      model: 'gpt-4o-mini',
      tools: [{ function: { parameters: { properties: { model: { type: 'string' } } } } }],
      messages: [{ role: 'user', content: '"model"' }],
    });
    expect(await inspectBody('application/json', nested, '/v1/x')).toMatchObject({ model: 'gpt-4o-mini' });
  });
  it('reads the model field of a multipart form', async () => {
    const form = multipart(
      [
        ['model', 'whisper-1'],
        ['language', 'en'],
      ],
      Buffer.from('name="model"\r\n\r\nfake'),
    );
    expect(await inspectBody(form.type, form.body, '/v1/audio/transcriptions')).toMatchObject({
      model: 'whisper-1',
      modelUnknown: false,
    });
    const none = multipart([['language', 'en']]);
    expect(await inspectBody(none.type, none.body, '/v1/audio/transcriptions')).toMatchObject({
      model: undefined,
      modelUnknown: true,
    });
    const twice = multipart([
      ['model', 'whisper-1'],
      ['model', 'gpt-4o-transcribe'],
    ]);
    expect(await inspectBody(twice.type, twice.body, '/v1/audio/transcriptions')).toMatchObject({ modelUnknown: true });
    expect(await inspectBody('multipart/form-data', Buffer.from('garbage'), '/v1/audio/transcriptions')).toMatchObject({
      modelUnknown: true,
    });
  });
  it('reads the model from the path where the API puts it', async () => {
    expect(await inspectBody(undefined, Buffer.alloc(0), '/v1/models/gpt-4o-mini')).toMatchObject({
      model: 'gpt-4o-mini',
      modelUnknown: false,
    });
    expect(
      await inspectBody(
        'application/json',
        json({ messages: [] }),
        '/openai/deployments/my-gpt4/chat/completions?api-version=2024-06-01',
      ),
    ).toMatchObject({ model: 'my-gpt4' });
    expect(await inspectBody(undefined, Buffer.alloc(0), '/v1/files')).toMatchObject({
      model: undefined,
      modelUnknown: false,
    });
  });
});
