/** `GET /report` on the admin listener: the usage report of the daemon's own access log, behind the admin token. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { useMockUpstream } from '../helpers/mock.js';
import { eventually } from '../helpers/eventually.js';
import { startDaemon } from '../helpers/cli.js';
import { request } from '../helpers/http.js';
import { accessLogFiles } from '../../src/logs/access-tail.js';

const TOKEN = 'admin-token-report-test-0000';
const mock = useMockUpstream();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'aifd-report-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.each([
  ['one process', []],
  ['--workers 2', ['--workers', '2']],
])('GET /report, %s', (name, args) => {
  it('serves the report of what the daemon recorded, to the admin token only', async () => {
    const home = path.join(dir, name.replace(/\W+/g, '-'));
    const file = `${home}.json`;
    await writeFile(
      file,
      JSON.stringify({
        store: `sqlite://${home}/state.sqlite`,
        logs: { dir: path.join(home, 'logs') },
        upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-report-pool-key-0000000000000'] }],
        auth: { forwardKeys: [{ key: 'fk-report-dana-000000000000', user: '<i>dana</i>', roles: [] }] },
        admin: { port: 0, token: TOKEN },
      }),
    );
    const daemon = await startDaemon(['--config', file, '--port', '0', ...(args as string[])], { cwd: dir });
    try {
      const admin = (JSON.parse(await readFile(path.join(home, 'daemon.json'), 'utf8')) as { adminUrl: string })
        .adminUrl;
      const sdk = new OpenAI({ apiKey: 'fk-report-dana-000000000000', baseURL: `${daemon.url}/v1`, maxRetries: 0 });
      for (let i = 0; i < 3; i++)
        await sdk.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      await eventually(async () => {
        const [log] = await accessLogFiles(path.join(home, 'logs'));
        return log && (await readFile(log, 'utf8')).split('\n').filter(Boolean).length === 3 ? true : undefined;
      });

      expect((await request(`${admin}/report`)).status).toBe(401);
      const answer = await request(`${admin}/report?since=1d`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toContain('text/html');
      const html = answer.body.toString();
      expect(html).toMatch(/<table id="totals">[\s\S]*?<td>3<\/td>/);
      expect(html).toContain('&lt;i&gt;dana&lt;/i&gt;');
      expect(html).not.toContain('<i>dana</i>');
      const bad = await request(`${admin}/report?since=someday`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(bad.status).toBe(400);
    } finally {
      await daemon.stop('SIGTERM');
    }
  });
});
