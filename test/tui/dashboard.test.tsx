import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { once } from 'node:events';
import { Dashboard } from '../../src/tui/Dashboard.js';
import { sparkline } from '../../src/tui/KeyTable.js';
import { App } from '../../src/tui/App.js';
import type { Connection, HubSnapshot } from '../../src/tui/snapshot.js';
import type { KeyView } from '../../src/keys/snapshot.js';
import { startMockUpstream, type MockUpstream } from '../mock-upstream/mock-upstream.js';
import { startAdmin, startHub, type RunningAdmin, type RunningHub } from '../helpers/hub.js';

function key(overrides: Partial<KeyView>): KeyView {
  return {
    upstream: 'openai',
    hash: 'abcdef012345',
    key: 'sk-…aaaa',
    label: null,
    weight: 1,
    models: null,
    status: 'ok',
    reason: null,
    recoversInMs: null,
    inFlight: 0,
    sessions: 0,
    requests: 10,
    promptTokens: 100,
    completionTokens: 50,
    requestsPerMinute: 4.5,
    remainingRequests: 29000,
    remainingTokens: 149000,
    resetRequestsInMs: null,
    resetTokensInMs: null,
    lastError: null,
    lastErrorAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

function snapshot(keys: KeyView[]): HubSnapshot {
  return {
    version: '0.1.0',
    startedAt: '2026-11-29T00:00:00Z',
    inFlight: 2,
    upstreams: [{ name: 'openai', route: '/', mode: 'pool', keys: keys.length, queueLength: 0 }],
    keys,
    totals: {
      requestsPerSecond: 3.2,
      errorRate: 0.01,
      p50Ms: 120,
      p99Ms: 900,
      tokensPerMinute: 12345,
      tokensPerMinuteByKey: {},
      users: [{ user: 'ann', requests: 42, tokens: 9000 }],
      recentErrors: [
        { at: '2026-11-29T20:01:02.000Z', error: 'rate_limit_exceeded', path: '/v1/chat/completions', user: 'ann' },
      ],
    },
  };
}

const live = (s: HubSnapshot): Connection => ({ state: 'live', snapshot: s, at: Date.now() });

describe('Dashboard frames', () => {
  it('shows healthy keys with their load, totals, users and errors, within 80×24', () => {
    const { lastFrame } = render(
      <Dashboard
        connection={live(snapshot([key({ inFlight: 3 }), key({ hash: 'b', key: 'sk-…bbbb', inFlight: 1 })]))}
        sort="load"
        pane="keys"
        paused={false}
        rows={24}
      />,
    );
    const frame = lastFrame()!;
    expect(frame).toContain('live');
    expect(frame).toContain('3.2 req/s');
    expect(frame).toMatch(/sk-…aaaa\s+ok\s+█████ 3/);
    expect(frame).toMatch(/sk-…bbbb\s+ok\s+██░░░ 1/);
    expect(frame).toContain('ann');
    expect(frame).toContain('rate_limit_exceeded');
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    expect(Math.max(...frame.split('\n').map((line) => line.length))).toBeLessThanOrEqual(80);
  });

  it('shows a key cooling down with its countdown, and a revoked one', () => {
    const frame = render(
      <Dashboard
        connection={live(
          snapshot([
            key({ status: 'cooling', recoversInMs: 4200 }),
            key({ hash: 'r', key: 'sk-…rrrr', status: 'revoked' }),
          ]),
        )}
        sort="status"
        pane="keys"
        paused={false}
        rows={24}
      />,
    ).lastFrame()!;
    expect(frame).toMatch(/sk-…aaaa\s+cooling\s+.*5s/);
    expect(frame).toMatch(/sk-…rrrr\s+revoked/);
    expect(frame.indexOf('revoked')).toBeLessThan(frame.indexOf('cooling'));
  });

  it("draws each key's recent load as a sparkline, and users nearest their limits", () => {
    const s = snapshot([key({ tokensPerMinute: 6000 })]);
    s.totals.users = [
      { user: 'ann', requests: 42, tokens: 9000, nearest: { limit: 'user ann daily budget', share: 0.86 } },
    ];
    const frame = render(
      <Dashboard
        connection={live(s)}
        sort="load"
        pane="users"
        paused={false}
        rows={24}
        history={{ abcdef012345: { requestsPerMinute: [0, 1, 2, 4, 8] } }}
      />,
    ).lastFrame()!;
    expect(frame).toContain('▂▃▅█');
    expect(frame).toMatch(/▂▃▅█\s+6000\s/);
    expect(frame).toContain('86% of user ann daily budget');
    expect(sparkline([5, 5, 5])).toBe('███     ');
    expect(sparkline([])).toBe('        ');
  });

  it('says clearly when the daemon is gone', () => {
    const gone = render(
      <Dashboard
        connection={{ state: 'lost', reason: 'cannot reach the daemon at http://127.0.0.1:1 (ECONNREFUSED)' }}
        sort="load"
        pane="keys"
        paused={false}
        rows={24}
      />,
    ).lastFrame()!;
    expect(gone).toContain('unreachable');
    expect(gone).toContain('ECONNREFUSED');
    const dropped = render(
      <Dashboard
        connection={{ state: 'lost', reason: 'the daemon closed the connection', snapshot: snapshot([key({})]) }}
        sort="load"
        pane="keys"
        paused={false}
        rows={24}
      />,
    ).lastFrame()!;
    expect(dropped).toContain('disconnected');
    expect(dropped).toContain('sk-…aaaa');
  });
});

describe('App against a live admin listener', () => {
  let mock: MockUpstream;
  let running: RunningHub;
  let admin: RunningAdmin;
  let adminUrl: string;
  beforeAll(async () => {
    mock = await startMockUpstream();
    running = await startHub({
      upstreams: [{ name: 'openai', baseUrl: mock.url, keys: ['sk-tui-test-key-0000000000'] }],
      auth: { anonymous: true },
    });
    admin = await startAdmin(running.hub, 'tui-token-0123456789');
    adminUrl = admin.url;
  });
  afterAll(async () => {
    await admin.close();
    await running.close();
    await mock.close();
  });

  it('goes live, then sorts, pauses and quits on keys', async () => {
    const app = render(<App source={{ adminUrl, token: 'tui-token-0123456789' }} onGiveUp={() => undefined} />);
    // ink-testing-library's stdout only keeps frames: make each one an event to wait on
    const write = app.stdout.write;
    app.stdout.write = (frame: string) => {
      write(frame);
      app.stdout.emit('frame');
    };
    const frameMatching = async (pattern: RegExp) => {
      while (!pattern.test(app.lastFrame() ?? '')) await once(app.stdout, 'frame');
      return app.lastFrame()!;
    };
    expect(await frameMatching(/live/)).toContain('sort: load');
    app.stdin.write('s');
    expect(await frameMatching(/sort: requests/)).toContain('sk-…0000');
    app.stdin.write('p');
    await frameMatching(/paused/);
    app.unmount();
  });

  it('gives up with the reason when the daemon cannot be reached', async () => {
    const reason = await new Promise<string>((resolve) =>
      render(<App source={{ adminUrl: 'http://127.0.0.1:1', token: undefined }} onGiveUp={resolve} />),
    );
    expect(reason).toContain('ECONNREFUSED');
  });
});
