// Regenerates hub.config.schema.json from src/config/schema.ts (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/config/json-schema.js';

writeFileSync(
  new URL('../hub.config.schema.json', import.meta.url),
  JSON.stringify(configJsonSchema(), null, 2) + '\n',
);
