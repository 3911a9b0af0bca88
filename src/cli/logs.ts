/** The `logs` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { ConvertCliOptions } from './logs-action.js';
import type { TailCliOptions } from './logs-tail-action.js';

export function makeLogsCommand(program: Command): void {
  const logs = program.command('logs').description('request and chat logs');
  convertCommand(logs.command('convert'));
  logs
    .command('tail')
    .description('the access log as a table: the last lines, and with --follow every new one')
    .option('-c, --config <file>', 'config file (for logs.dir)')
    .option('--dir <path>', 'the logs folder (default: logs.dir)')
    .option('-f, --follow', 'keep printing lines as they are written')
    .option('--user <user>', 'only this user')
    .option('--model <model>', 'only this model (globs allowed)')
    .option('--status <status>', 'only this status (429) or class (4xx)')
    .option('--since <time>', 'from this time on (ISO date, or 1h for an hour ago), every file since')
    .option('-n, --lines <n>', 'how many of the last matching lines to print first', '20')
    .option('--json', 'the lines as they are written (for jq)')
    .action(async (options: TailCliOptions) => (await import('./logs-tail-action.js')).tail(options));
  // openai-forward's name for the same command
  convertCommand(program.command('convert')).description(
    "the same as `aifd logs convert` (openai-forward's name for it)",
  );
}

function convertCommand(command: Command): Command {
  return command
    .description("chat log (aifd's JSON lines or openai-forward's chat.log; rotated or gzipped) → one JSON array file")
    .option('-c, --config <file>', 'config file (for logs.dir)')
    .option('--input <path>', 'a chat log file or a directory of them (default: logs.dir)')
    .option('--output <path>', 'the JSON file to write; - for stdout', 'chat-log.json')
    .option('--since <time>', 'only exchanges at or after this time (ISO date, or 7d for seven days ago)')
    .option('--until <time>', 'only exchanges before this time')
    .option('--user <user>', 'only this user')
    .option('--model <model>', 'only this model (globs allowed)')
    .option('--full', 'keep whole messages, every tool call and all parameters')
    .action(async (options: ConvertCliOptions) => (await import('./logs-action.js')).convert(options));
}
