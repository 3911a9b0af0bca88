/** Runs the built `aifd` binary as a real child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

export const AIFD_BIN = path.resolve('bin/aifd.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Read this many bytes of stdout, then close it, as `| head -c N` does (0: closed before a byte). */
  closeStdoutAfter?: number;
}

function childEnv(env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  // A clean environment: no config or keys leak in from the developer's shell.
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, FORCE_COLOR: '0', NO_COLOR: '1' };
  return { ...base, ...env };
}

export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [AIFD_BIN, ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const limit = options.closeStdoutAfter;
  if (limit === 0) child.stdout.destroy();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (limit !== undefined && stdout.length >= limit) child.stdout.destroy();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

export interface RunningDaemon {
  child: ChildProcess;
  url: string;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves once stderr (from `from` on) matches `pattern`. */
  waitForStderr(pattern: RegExp, from?: number): Promise<void>;
}

/** Starts `aifd run …` and resolves once its banner says where it listens. */
export async function startDaemon(args: string[], options: CliOptions = {}): Promise<RunningDaemon> {
  const child = spawn(process.execPath, [AIFD_BIN, 'run', ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('TimeoutOverflowWarning'))
        throw new Error(`the daemon armed a timer Node cannot hold:\n${stderr}`);
      const match = /listening on (http:\/\/[^\s]+)/.exec(stderr) ?? /"address":"(http:\/\/[^"]+)"/.exec(stderr);
      if (match) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`aifd exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    child,
    url,
    stderr: () => stderr,
    stdout: () => stdout,
    waitForStderr: (pattern, from = 0) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stderr.slice(from))) return false;
          child.stderr!.off('data', check);
          resolve();
          return true;
        };
        if (check()) return;
        child.stderr!.on('data', check);
        void exited.then((code) =>
          reject(new Error(`aifd exited with ${code} while waiting for ${pattern}:\n${stderr}`)),
        );
      }),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
