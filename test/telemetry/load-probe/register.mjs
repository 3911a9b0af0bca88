// Loaded with `node --import`: records every module the process resolves into $AIFD_LOAD_PROBE.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
