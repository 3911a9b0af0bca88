/** The root command and the one top-level catch: `aifd: <message>`, exit codes, no stack traces. */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { makeKeysCommand } from './keys.js';
import { makeTokenCommands } from './tokens.js';
import { makeLogsCommand } from './logs.js';
import { makeUsageCommand } from './usage.js';
import { makeCacheCommand } from './cache.js';
import { makeCompletionCommand } from './completion.js';
import { makeTopCommand } from './top.js';
import { makeRunCommand } from './run.js';
import { makeConfigCommand } from './config.js';
import { packageVersion } from '../util/package-version.js';

export function buildProgram(): Command {
  const program = new Command('aifd')
    .description('a gateway in front of OpenAI: key pool, auth, ACL, limits, usage, cache, logs, live view')
    .version(packageVersion(), '-V, --version')
    .option('--debug', 'show stack traces of unexpected errors')
    .option(
      '--env-file <file>',
      'read environment variables from this file (default: ./.env when present; set ones win)',
    )
    .hook('preAction', (command) => {
      const envFile = command.opts<{ envFile?: string }>().envFile;
      if (envFile) process.env.AIFD_ENV_FILE = envFile;
    })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  makeRunCommand(program);

  makeTokenCommands(program);
  makeKeysCommand(program);
  makeLogsCommand(program);
  makeUsageCommand(program);
  makeCacheCommand(program);
  makeTopCommand(program);
  makeCompletionCommand(program);
  makeConfigCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  endQuietlyWhenStdoutCloses();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    return reportError(err, argv.includes('--debug'));
  }
}

/**
 * `aifd logs convert --output - | head`: once the reader is gone, nothing more can be said; as Unix
 * tools do, the command ends at once, quietly, with status 0.
 */
function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
}

function isClosedPipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

function reportError(err: unknown, debug: boolean): number {
  if (isClosedPipe(err)) return EXIT_OK;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return EXIT_OK;
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`aifd: config error: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    process.stderr.write(`aifd: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
    return err.exitCode;
  }
  process.stderr.write(`aifd: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return EXIT_FAILURE;
}
