import type { HubConfig } from '../config/schema.js';
import { openStore, type Store } from '../store/open-store.js';
import { CliError, EXIT_FAILURE } from './exit-codes.js';

/** Opens the configured store, or ends the command with one line saying why it cannot. */
export async function openConfiguredStore(config: HubConfig): Promise<Store> {
  return openStore(config.store, { prefix: config.storePrefix }).catch((err: Error) => {
    throw new CliError(`cannot open the store ${config.store}: ${err.message}`, EXIT_FAILURE);
  });
}

/** Runs `use` with the configured store open, and closes it after. */
export async function withStore<T>(config: HubConfig, use: (store: Store) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(config);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
