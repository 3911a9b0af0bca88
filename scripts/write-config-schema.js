// Regenerates hub.config.schema.json and docs/config.md from src/config/schema.ts (run after `npm run build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/config/json-schema.js';
import { configReference } from '../dist/config/reference.js';

writeFileSync(
  new URL('../hub.config.schema.json', import.meta.url),
  JSON.stringify(configJsonSchema(), null, 2) + '\n',
);
mkdirSync(new URL('../docs/', import.meta.url), { recursive: true });
writeFileSync(new URL('../docs/config.md', import.meta.url), configReference());
