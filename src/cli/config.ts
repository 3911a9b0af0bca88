/** The `config` command's definition; its work loads only when it runs (so `aifd --help` stays fast). */
import type { Command } from 'commander';
import type { ImportOptions, PrintOptions } from './config-action.js';

export function makeConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description("the effective config: print it, check it, import another gateway's");
  config
    .command('print')
    .description(
      'the effective config after file, .env, variables and defaults, secrets masked, with where each part came from',
    )
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (options: PrintOptions) => (await import('./config-action.js')).printConfig(options));
  config
    .command('check')
    .description('validate the config without starting (exit 0 when it is good, 2 when not)')
    .option('-c, --config <file>', 'config file')
    .action(async (options: PrintOptions) => (await import('./config-action.js')).checkConfig(options));
  config
    .command('import')
    .description("write an aifd config from another gateway's config file")
    .argument('<gateway>', 'the gateway the file is for: openai-api-route')
    .argument('<file>', "its config file (openai-api-route's upstreams.yaml / config.yaml)")
    .option('--output <file>', 'where to write the aifd config; - for stdout', 'hub.config.json')
    .option('--force', 'overwrite the output file')
    .action(async (gateway: string, file: string, options: ImportOptions) =>
      (await import('./config-action.js')).importConfig(gateway, file, options),
    );
}
