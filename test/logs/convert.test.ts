import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import type { ChatRecord } from '../../src/logs/chat-record.js';
import { convertChatLog } from '../../src/logs/convert.js';
import { runCli } from '../helpers/cli.js';

function chat(i: number, overrides: Partial<ChatRecord> = {}): ChatRecord {
  return {
    ts: new Date(Date.UTC(2026, 10, 19 + Math.floor(i / 3), 10, i)).toISOString(),
    id: `id-${i}`,
    user: i % 2 === 0 ? 'ann' : 'bob',
    ip: '10.0.0.' + i,
    model: i % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
    params: { temperature: 0.5, max_tokens: 100 },
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: `question ${i}` }] },
    ],
    tools: null,
    functions: null,
    assistant: `answer ${i}`,
    tool_calls: null,
    function_call: null,
    finish_reason: 'stop',
    usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    aborted: false,
    cache: null,
    error: null,
    ...overrides,
  };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-convert-'));
  const day1 = [chat(0), chat(1), chat(2)].map((record) => JSON.stringify(record)).join('\n') + '\n';
  await writeFile(path.join(dir, 'chat-2026-11-19.log.gz'), gzipSync(day1));
  const toolCall = chat(4, {
    assistant: '',
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    tools: [{ type: 'function', function: { name: 'get_weather' } }],
    finish_reason: 'tool_calls',
  });
  const day2 =
    [
      JSON.stringify(chat(3)),
      '{"ts": "2026-11-20T10:00:00Z", "broken',
      'not json at all',
      JSON.stringify(toolCall),
      JSON.stringify(chat(5)).slice(0, 40),
    ].join('\n') + '\n';
  await writeFile(path.join(dir, 'chat-2026-11-20.log'), day2);
  await writeFile(path.join(dir, 'access-2026-11-20.log'), '{"not":"a chat record"}\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('convertChatLog', () => {
  it('turns every chat log file (gzipped too) into one array in the openai-forward shape, skipping corrupt lines', async () => {
    const output = path.join(dir, 'all.json');
    const result = await convertChatLog({ input: dir, output });
    expect(result).toEqual({ files: 2, written: 5, skipped: 3, filtered: 0 });
    const items = JSON.parse(await readFile(output, 'utf8'));
    expect(items).toHaveLength(5);
    expect(items[0]).toEqual({
      datetime: '2026-11-19T10:00:00.000Z',
      ip: '10.0.0.0',
      user: 'ann',
      model: 'gpt-4o',
      temperature: 0.5,
      messages: [{ system: 'be brief' }, { user: 'question 0' }],
      functions: null,
      is_function_call: false,
      assistant: 'answer 0',
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    });
    const call = items.find((item: { is_function_call: boolean }) => item.is_function_call);
    expect(call.functions).toEqual([{ type: 'function', function: { name: 'get_weather' } }]);
    expect(JSON.parse(call.assistant)).toEqual([{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  });

  it('filters by time, user and model, and keeps everything with full', async () => {
    const output = path.join(dir, 'filtered.json');
    const result = await convertChatLog({ input: dir, output, since: new Date('2026-11-20T00:00:00Z'), user: 'bob' });
    expect(result.written).toBe(1);
    expect(JSON.parse(await readFile(output, 'utf8'))[0].datetime).toBe('2026-11-20T10:03:00.000Z');
    const byModel = await convertChatLog({
      input: dir,
      output,
      model: 'gpt-4o-*',
      until: new Date('2026-11-20T00:00:00Z'),
      full: true,
    });
    expect(byModel.written).toBe(2);
    const full = JSON.parse(await readFile(output, 'utf8'));
    expect(full[0]).toMatchObject({
      id: 'id-1',
      params: { max_tokens: 100 },
      messages: [{ role: 'system' }, { role: 'user' }],
    });
  });

  it('writes an empty array when nothing matches', async () => {
    const output = path.join(dir, 'none.json');
    await convertChatLog({ input: dir, output, user: 'nobody' });
    expect(JSON.parse(await readFile(output, 'utf8'))).toEqual([]);
  });
});

describe('aifd logs convert', () => {
  it('runs as a command and reports what it skipped', async () => {
    const result = await runCli(
      ['logs', 'convert', '--input', dir, '--output', 'cli.json', '--since', '2026-11-19', '--model', 'gpt-4o'],
      { cwd: dir },
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('2 exchange(s) from 2 file(s) written to cli.json');
    expect(result.stderr).toContain('3 corrupt line(s) skipped');
    expect(JSON.parse(await readFile(path.join(dir, 'cli.json'), 'utf8'))).toHaveLength(2);
    const bad = await runCli(['logs', 'convert', '--input', dir, '--since', 'yesterday-ish'], { cwd: dir });
    expect(bad.code).toBe(2);
    const missing = await runCli(['logs', 'convert', '--input', path.join(dir, 'nope')], { cwd: dir });
    expect(missing.code).toBe(2);
  });
});

describe("openai-forward's chat.log", () => {
  it('pairs request and answer lines by uid, reads mixed formats and counts garbage', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-of-log-'));
    try {
      const lines = [
        `{'messages': [{'user': 'hi'}], 'model': 'gpt-3.5-turbo', 'forwarded-for': '10.0.0.7', 'uid': 'u-1', 'datetime': '2023-07-18 14:01:21'}`,
        `{'messages': [{'system': 'be brief'}, {'user': "what's up?"}], 'model': 'gpt-4', 'temperature': 0.2, 'uid': 'u-2', 'datetime': '2023-07-18 14:01:23'}`,
        `{'assistant': 'Hello there! How can I assist you today?', 'uid': 'u-1'}`,
        'this is not a log line',
        `{'assistant': 'an answer nobody asked for', 'uid': 'u-404'}`,
        `{'assistant': "Not much, and you?", 'uid': 'u-2'}`,
        JSON.stringify(chat(1)),
        `{'messages': [{'user': 'cut off'`,
        `{'messages': [{'user': 'never answered'}], 'model': 'gpt-3.5-turbo', 'uid': 'u-3', 'datetime': '2023-07-18 14:02:00'}`,
      ];
      await writeFile(path.join(dir, 'chat.log'), lines.join('\n') + '\n');
      const output = path.join(dir, 'out.json');
      const result = await convertChatLog({ input: dir, output });
      expect(result).toMatchObject({ files: 1, written: 4, skipped: 3 });
      const exchanges = JSON.parse(await readFile(output, 'utf8'));
      expect(exchanges[0]).toMatchObject({
        model: 'gpt-3.5-turbo',
        ip: '10.0.0.7',
        messages: [{ user: 'hi' }],
        assistant: 'Hello there! How can I assist you today?',
      });
      expect(exchanges[0].datetime).toMatch(/^2023-07-18T/);
      expect(exchanges[1]).toMatchObject({
        model: 'gpt-4',
        temperature: 0.2,
        messages: [{ system: 'be brief' }, { user: "what's up?" }],
        assistant: 'Not much, and you?',
      });
      expect(exchanges[2]).toMatchObject({ assistant: 'answer 1' });
      expect(exchanges[3]).toMatchObject({ messages: [{ user: 'never answered' }], assistant: '' });
      // and through the command openai-forward users know
      const cli = await runCli(['convert', '--input', path.join(dir, 'chat.log'), '--output', '-']);
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toHaveLength(4);
      expect(cli.stderr).toContain('3 corrupt line(s) skipped');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
