import chalk from 'chalk';
import { convertChatLog } from '../logs/convert.js';
import { parseTimeArg } from '../util/time-arg.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { logsDir } from './logs-dir.js';

export interface ConvertCliOptions {
  config?: string;
  input?: string;
  output: string;
  since?: string;
  until?: string;
  user?: string;
  model?: string;
  full?: boolean;
}

export async function convert(options: ConvertCliOptions): Promise<void> {
  const since = timeOption('--since', options.since);
  const until = timeOption('--until', options.until);
  const input = options.input ?? (await logsDir(options.config));
  const result = await convertChatLog({
    input,
    output: options.output,
    since,
    until,
    user: options.user,
    model: options.model,
    full: options.full,
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT')
      throw new CliError(`no chat log at ${input}`, EXIT_USAGE, 'turn on logs.chat, or point --input at a chat log');
    throw err;
  });
  const skipped = result.skipped > 0 ? chalk.yellow(`, ${result.skipped} corrupt line(s) skipped`) : '';
  process.stderr.write(
    `${result.written} exchange(s) from ${result.files} file(s) written to ${options.output === '-' ? 'stdout' : options.output}${skipped}\n`,
  );
}

function timeOption(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const at = parseTimeArg(value);
  if (!at) throw new CliError(`${name} "${value}" is not a time (an ISO date, or a duration such as 7d)`, EXIT_USAGE);
  return at;
}
