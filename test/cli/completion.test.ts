import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.js';

const FILES = { bash: 'completions/aifd.bash', zsh: 'completions/_aifd', fish: 'completions/aifd.fish' } as const;

/** What bash offers after the given words, with completions/aifd.bash sourced in a real bash. */
function bashComplete(words: string[]): string[] {
  const script = `source completions/aifd.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _aifd; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('aifd completion', () => {
  it('prints the committed scripts (a stale file fails here: run npm run completions)', async () => {
    for (const [shell, file] of Object.entries(FILES)) {
      const printed = await runCli(['completion', shell]);
      expect(printed.code).toBe(0);
      expect(printed.stdout, file).toBe(await readFile(file, 'utf8'));
    }
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2);
  });

  it('completes subcommands and flags in a real bash', () => {
    expect(bashComplete(['aifd', 'ke'])).toEqual(['keys']);
    expect(bashComplete(['aifd', 'keys', ''])).toEqual(['list', 'check', '--help']);
    expect(bashComplete(['aifd', 'keys', 'check', '--u'])).toEqual(['--upstream']);
    expect(bashComplete(['aifd', 'run', '--config', 'x.json', '--p'])).toEqual(['--port']);
    expect(bashComplete(['aifd', 'logs', 'convert', '--s'])).toEqual(['--since']);
  });
});
