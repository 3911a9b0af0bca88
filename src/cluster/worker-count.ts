/** How many workers `listen.workers` / `--workers` asks for on this machine, or why not. */
import { availableParallelism } from 'node:os';

/** Workers per core at most: each is a whole process (about 60 MB) and past the cores they only contend. */
const MAX_PER_CORE = 4;

export type WorkerCount = { ok: true; workers: number } | { ok: false; error: string };

export function workerCount(requested: number | 'auto', cores = availableParallelism()): WorkerCount {
  if (requested === 'auto') return { ok: true, workers: cores };
  const most = Math.max(MAX_PER_CORE, MAX_PER_CORE * cores);
  if (requested > most)
    return {
      ok: false,
      error: `${requested} workers is more than ${most} (${MAX_PER_CORE} per core on this machine of ${cores}); use auto for one per core`,
    };
  return { ok: true, workers: requested };
}
