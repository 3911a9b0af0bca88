/** The `tokens` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { TokenGenOptions } from './tokens-action.js';

export function makeTokenCommands(program: Command): void {
  program
    .command('token-gen')
    .description('print a signed JWT for a user (the daemon verifies it with auth.jwt)')
    .option('-c, --config <file>', 'config file')
    .requiredOption('--user <id>', 'the user the token is for (the `sub` claim)')
    .option('--role <role...>', 'roles (repeatable)')
    .option('--model <glob...>', 'narrow the models the token may use (repeatable)')
    .option('--path <path...>', 'narrow the paths the token may call (repeatable)')
    .option('--limit-requests <rate>', 'lower request limit for this token, e.g. 10/minute')
    .option('--limit-tokens <rate>', 'lower token limit for this token, e.g. 100000/day')
    .option(
      '--expires <duration>',
      'lifetime such as 12h, 30d; "never" for a token without expiry (default: auth.jwt.defaultExpires)',
    )
    .option('--json', 'print JSON with token, jti and exp')
    .action(async (options: TokenGenOptions) => (await import('./tokens-action.js')).tokenGen(options));

  program
    .command('token-revoke')
    .description(
      'revoke one token by its jti, or every token of a user with --user; a running daemon refuses them within a second',
    )
    .argument('[jti]', 'the token id (printed by token-gen --json)')
    .option('-c, --config <file>', 'config file')
    .option('--user <id>', 'revoke every token of this user issued until now')
    .action(async (jti: string | undefined, options: { config?: string; user?: string }) =>
      (await import('./tokens-action.js')).tokenRevoke(jti, options),
    );
}
