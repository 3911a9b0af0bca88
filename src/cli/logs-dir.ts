import { ConfigError, loadConfig } from '../config/load.js';

/** The configured logs directory; without a config, ./aifd-logs. */
export async function logsDir(configPath: string | undefined): Promise<string> {
  try {
    return (await loadConfig({ configPath })).config.logs.dir;
  } catch (err) {
    if (err instanceof ConfigError && !configPath) return './aifd-logs';
    throw err;
  }
}
