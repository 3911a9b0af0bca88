// Regenerates completions/ from the command definitions (run after `npm run build`).
import { writeFileSync, mkdirSync } from 'node:fs';
import { buildProgram } from '../dist/cli/main.js';
import { completionScript } from '../dist/cli/completion-scripts.js';

const files = { bash: 'aifd.bash', zsh: '_aifd', fish: 'aifd.fish' };
mkdirSync(new URL('../completions/', import.meta.url), { recursive: true });
for (const [shell, name] of Object.entries(files)) {
  writeFileSync(new URL(`../completions/${name}`, import.meta.url), completionScript(buildProgram(), shell));
}
