import chalk from 'chalk';
import type { BudgetConfig, HubConfig } from '../config/schema.js';

export interface BannerFacts {
  version: string;
  config: HubConfig;
  configFile: string | undefined;
  /** Without a file: the openai-forward variables the config was made from. */
  fromVariables?: readonly string[];
  /** With a file: openai-forward variables that are set and not used. */
  ignoredVariables?: readonly string[];
  /** The `.env` file read. */
  envFile?: string;
  address: string;
  adminAddress: string | undefined;
  storeLocation: string;
  /** Worker processes behind the port (1: this process serves alone). */
  workers?: number;
}

/** The startup banner: what is running and where. Names keys by count only, never by value. */
export function renderBanner(facts: BannerFacts): string {
  const { config } = facts;
  const lines: string[] = [];
  const workers = facts.workers && facts.workers > 1 ? `  ${chalk.dim(`(${facts.workers} workers)`)}` : '';
  lines.push(
    `${chalk.bold('aifd')} ${facts.version}  ${chalk.green('listening on')} ${chalk.bold(facts.address)}${workers}`,
  );
  lines.push(`  config   ${describeSource(facts)}`);
  if (facts.ignoredVariables && facts.ignoredVariables.length > 0) {
    lines.push(
      `  ignored  ${chalk.yellow(facts.ignoredVariables.join(', '))} ${chalk.dim('(openai-forward variables; the config file wins)')}`,
    );
  }
  lines.push('  routes');
  const width = Math.max(...config.upstreams.map((upstream) => upstream.route.length));
  for (const upstream of config.upstreams) {
    const keys =
      upstream.keys.length === 0
        ? chalk.yellow("pass-through (client's own key)")
        : `${upstream.keys.length} pool key(s)`;
    lines.push(`    ${upstream.route.padEnd(width)}  → ${upstream.name} ${chalk.dim(upstream.baseUrl)}  ${keys}`);
  }
  lines.push(`  auth     ${describeAuth(config)}`);
  lines.push(
    `  acl      ${config.acl ? `${config.acl.rules.length} rule(s), default ${config.acl.default}` : chalk.dim('none')}`,
  );
  const [firstLimit, ...moreLimits] = describeLimits(config);
  lines.push(`  limits   ${firstLimit}`);
  for (const line of moreLimits) lines.push(`           ${line}`);
  lines.push(
    `  cache    ${config.cache.chatCompletions ? `all chat completions, ttl ${config.cache.ttl / 1000}s` : 'opt-in per request'}`,
  );
  lines.push(`  store    ${facts.storeLocation}`);
  lines.push(
    `  admin    ${facts.adminAddress ? `${facts.adminAddress}${config.admin.token ? ' (token required)' : ''}` : chalk.dim('off')}`,
  );
  lines.push(
    `  logs     ${config.logs.dir}${config.logs.access ? ' (access log on)' : ''}${config.logs.chat ? ' (chat log on)' : ''}`,
  );
  return lines.join('\n') + '\n';
}

function describeSource(facts: BannerFacts): string {
  const envFile = facts.envFile ? chalk.dim(` (+ ${facts.envFile})`) : '';
  if (facts.configFile) return facts.configFile + envFile;
  if (facts.fromVariables && facts.fromVariables.length > 0)
    return `openai-forward variables: ${facts.fromVariables.join(', ')}${envFile}`;
  return chalk.dim('none (built-in defaults: pass-through forwarder)') + envFile;
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

/** Every limit in force, one line each, so an operator sees at start what callers will meet. */
function describeLimits(config: HubConfig): string[] {
  const limits = config.limits;
  if (!limits) return [chalk.dim('none')];
  const rows: [string, string][] = [];
  if (limits.global) rows.push(['global', `${limits.global} (all callers together)`]);
  for (const [route, rate] of Object.entries(limits.routes ?? {}))
    rows.push(['route', `${route} ${rate} (shared by all callers)`]);
  for (const [route, rate] of Object.entries(limits.routesPerUser ?? {}))
    rows.push(['route', `${route} ${rate} per user`]);
  const both = (requests: string | undefined, tokens: string | undefined) =>
    [requests && `${requests} requests`, tokens && `${tokens} tokens`].filter(Boolean).join(', ');
  if (limits.user?.requests || limits.user?.tokens)
    rows.push(['user', `${both(limits.user.requests, limits.user.tokens)} per user`]);
  for (const [role, rates] of Object.entries(limits.roles ?? {})) {
    if (rates.requests || rates.tokens) rows.push([`role ${role}`, `${both(rates.requests, rates.tokens)} per member`]);
  }
  if (limits.ip)
    rows.push([
      'ip',
      `${limits.ip} per address (${limits.ipAppliesTo === 'all' ? 'every caller' : 'anonymous callers'}; failed credentials always)`,
    ]);
  if (limits.streamTokenRate) rows.push(['stream', `${limits.streamTokenRate} events per stream`]);
  const budgets = limits.budgets;
  if (budgets) {
    const describe = (spec: BudgetConfig) =>
      (['daily', 'weekly', 'monthly'] as const)
        .filter((period) => spec[period] !== undefined)
        .map((period) => `$${spec[period]} ${period}`)
        .join(', ');
    for (const [user, spec] of Object.entries(budgets.users ?? {}))
      rows.push(['budget', `user ${user}: ${describe(spec)}`]);
    for (const [role, spec] of Object.entries(budgets.roles ?? {}))
      rows.push(['budget', `role ${role}: ${describe(spec)}`]);
    rows.push([
      'budgets',
      `calendar ${budgets.timezone}; models without a price ${budgets.unpriced === 'deny' ? 'refused' : chalk.yellow('let through uncounted')}`,
    ]);
  }
  if (rows.length === 0) return [chalk.dim('none')];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [limits.strategy, ...rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`)];
}
