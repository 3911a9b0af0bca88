/** deploy/aifd.service is a unit systemd accepts (where systemd-analyze is installed). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const UNIT = 'deploy/aifd.service';

describe('the systemd unit', () => {
  it.runIf(existsSync('/usr/bin/systemd-analyze'))('passes systemd-analyze verify', async () => {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', UNIT]);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it('runs aifd hardened, with a state directory, and reloads with SIGHUP', async () => {
    const unit = await readFile(UNIT, 'utf8');
    for (const line of [
      'ExecStart=/usr/bin/env aifd run --config /etc/aifd/hub.config.json',
      'ExecReload=/bin/kill -HUP $MAINPID',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ProtectSystem=strict',
      'StateDirectory=aifd',
      'DynamicUser=yes',
    ])
      expect(unit.split('\n')).toContain(line);
  });
});
