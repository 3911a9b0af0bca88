/** `aifd completion bash|zsh|fish`: prints the script generated from the command definitions. */
import type { Command } from 'commander';
import { completionScript, SHELLS, type Shell } from './completion-scripts.js';
import { CliError, EXIT_USAGE } from './exit-codes.js';

export function makeCompletionCommand(program: Command): void {
  program
    .command('completion')
    .argument('<shell>', 'bash, zsh or fish')
    .description('print a shell completion script (e.g. `source <(aifd completion bash)`)')
    .action((shell: string) => {
      if (!SHELLS.includes(shell as Shell))
        throw new CliError(`no completion for "${shell}" (bash, zsh or fish)`, EXIT_USAGE);
      process.stdout.write(completionScript(program, shell as Shell));
    });
}
