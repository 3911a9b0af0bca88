import { loadConfig } from '../config/load.js';
import { daemonAddress } from './daemon-client.js';
import { CliError, EXIT_FAILURE } from './exit-codes.js';

export interface TopOptions {
  config?: string;
  adminUrl?: string;
  token?: string;
}

export async function top(options: TopOptions): Promise<void> {
  let source: { adminUrl: string; token: string | undefined } | undefined;
  if (options.adminUrl) {
    source = { adminUrl: options.adminUrl.replace(/\/+$/, ''), token: options.token ?? process.env.AIFD_ADMIN_TOKEN };
  } else {
    const { config } = await loadConfig({ configPath: options.config });
    source = await daemonAddress(config, options.token);
  }
  if (!source)
    throw new CliError('no running aifd daemon was found', EXIT_FAILURE, 'start `aifd run`, or pass --admin-url');
  // React's development build checks and warns on every render: the view runs the production one.
  process.env.NODE_ENV ??= 'production';
  const { runTop } = await import('../tui/run-top.js');
  await runTop(source).catch((err: Error) => {
    throw new CliError(err.message, EXIT_FAILURE, 'is `aifd run` running, with its admin listener on?');
  });
}
