import type { Command } from 'commander';
import { CliError, EXIT_USAGE } from './exit-codes.js';

/** A command of the contract whose feature has not landed yet: it says so and exits 2. */
export function notBuilt(command: Command): Command {
  return command.allowUnknownOption().allowExcessArguments().action(() => {
    throw new CliError(`'aifd ${fullName(command)}' is not available in this version yet`, EXIT_USAGE);
  });
}

function fullName(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at && at.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}
