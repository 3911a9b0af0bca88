/** Config tests' shared pieces: the ConfigError a load must end in. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/load.js';

export async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}
