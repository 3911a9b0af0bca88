import chalk from 'chalk';
import { loadConfig } from '../config/load.js';
import { Revocations } from '../auth/revocations.js';
import { signToken } from '../auth/tokens.js';
import { withStore } from './store-access.js';
import { parseDuration } from '../util/duration.js';
import { parseRateString } from '../config/rate-string.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';
import { printJson } from './output.js';

export interface TokenGenOptions {
  config?: string;
  user?: string;
  role?: string[];
  model?: string[];
  path?: string[];
  expires?: string;
  limitRequests?: string;
  limitTokens?: string;
  json?: boolean;
}

export async function tokenGen(options: TokenGenOptions): Promise<void> {
  const { config } = await loadConfig({ configPath: options.config });
  const jwt = config.auth?.jwt;
  if (!jwt)
    throw new CliError(
      'the config has no auth.jwt section, so there is nothing to sign tokens with',
      EXIT_USAGE,
      'add auth.jwt with a secret of at least 32 bytes',
    );
  const lifetime = options.expires ?? jwt.defaultExpires;
  let expiresInSec: number | undefined;
  if (lifetime === 'never') {
    process.stderr.write(
      chalk.yellow(
        'aifd: warning: this token never expires; revoke it with `aifd token-revoke` when it is no longer needed\n',
      ),
    );
  } else {
    const ms = parseDuration(lifetime);
    if (ms === undefined || ms <= 0)
      throw new CliError(`--expires "${lifetime}" is not a duration (e.g. 12h, 30d) or "never"`, EXIT_USAGE);
    expiresInSec = Math.round(ms / 1000);
  }
  const limits: { requests?: string; tokens?: string } = {};
  for (const [field, value] of [
    ['requests', options.limitRequests],
    ['tokens', options.limitTokens],
  ] as const) {
    if (value === undefined) continue;
    try {
      parseRateString(value);
    } catch (err) {
      throw new CliError(`--limit-${field}: ${(err as Error).message}`, EXIT_USAGE);
    }
    limits[field] = value;
  }
  const signed = await signToken(jwt, {
    limits: Object.keys(limits).length > 0 ? limits : undefined,
    user: options.user!,
    roles: options.role ?? [],
    models: options.model ?? [],
    paths: options.path ?? [],
    expiresInSec,
  }).catch((err: Error) => {
    throw new CliError(err.message, EXIT_USAGE);
  });
  if (options.json) printJson(signed);
  else process.stdout.write(signed.token + '\n');
}

export async function tokenRevoke(jti: string | undefined, options: { config?: string; user?: string }): Promise<void> {
  if (!jti && !options.user)
    throw new CliError('say which token: aifd token-revoke JTI, or aifd token-revoke --user ID', EXIT_USAGE);
  const { config } = await loadConfig({ configPath: options.config });
  await withStore(config, async (store) => {
    const revocations = new Revocations(store.namespace('revocations'));
    if (jti) await revocations.revokeToken(jti);
    if (options.user) await revocations.revokeUser(options.user);
  });
  process.stdout.write(
    jti ? `revoked token ${jti}\n` : `revoked every token of user ${options.user} issued until now\n`,
  );
}
