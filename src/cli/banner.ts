import chalk from 'chalk';
import type { HubConfig } from '../config/schema.js';

export interface BannerFacts {
  version: string;
  config: HubConfig;
  configFile: string | undefined;
  address: string;
  adminAddress: string | undefined;
  storeLocation: string;
}

/** The startup banner: what is running and where. Names keys by count only, never by value. */
export function renderBanner(facts: BannerFacts): string {
  const { config } = facts;
  const lines: string[] = [];
  lines.push(`${chalk.bold('aifd')} ${facts.version}  ${chalk.green('listening on')} ${chalk.bold(facts.address)}`);
  lines.push(`  config   ${facts.configFile ?? chalk.dim('none (built-in defaults: pass-through forwarder)')}`);
  lines.push('  routes');
  const width = Math.max(...config.upstreams.map((upstream) => upstream.route.length));
  for (const upstream of config.upstreams) {
    const keys = upstream.keys.length === 0 ? chalk.yellow("pass-through (client's own key)") : `${upstream.keys.length} pool key(s)`;
    lines.push(`    ${upstream.route.padEnd(width)}  → ${upstream.name} ${chalk.dim(upstream.baseUrl)}  ${keys}`);
  }
  lines.push(`  auth     ${describeAuth(config)}`);
  lines.push(`  acl      ${config.acl ? `${config.acl.rules.length} rule(s), default ${config.acl.default}` : chalk.dim('none')}`);
  lines.push(`  limits   ${describeLimits(config)}`);
  lines.push(`  cache    ${config.cache.chatCompletions ? `all chat completions, ttl ${config.cache.ttl / 1000}s` : 'opt-in per request'}`);
  lines.push(`  store    ${facts.storeLocation}`);
  lines.push(`  admin    ${facts.adminAddress ? `${facts.adminAddress}${config.admin.token ? ' (token required)' : ''}` : chalk.dim('off')}`);
  lines.push(`  logs     ${config.logs.dir}${config.logs.access ? ' (access log on)' : ''}${config.logs.chat ? ' (chat log on)' : ''}`);
  return lines.join('\n') + '\n';
}

function describeAuth(config: HubConfig): string {
  const auth = config.auth;
  if (!auth) return chalk.dim('none (clients send their own upstream keys)');
  const parts: string[] = [];
  if (auth.jwt) parts.push(`jwt ${auth.jwt.algorithm}`);
  if (auth.forwardKeys.length > 0) parts.push(`${auth.forwardKeys.length} forward key(s)`);
  if (auth.anonymous) parts.push(chalk.yellow('anonymous allowed'));
  return parts.join(', ') || chalk.red('no credential accepted');
}

function describeLimits(config: HubConfig): string {
  const limits = config.limits;
  if (!limits) return chalk.dim('none');
  const parts: string[] = [];
  if (limits.global) parts.push(`global ${limits.global}`);
  if (limits.user?.requests) parts.push(`user ${limits.user.requests}`);
  if (limits.user?.tokens) parts.push(`user tokens ${limits.user.tokens}`);
  if (limits.ip) parts.push(`ip ${limits.ip}`);
  return parts.join(', ') || chalk.dim('none');
}
