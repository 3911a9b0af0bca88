/** A listener's certificate and key, read from their files and checked to be a pair. */
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import tls from 'node:tls';

export interface TlsFiles {
  cert: string;
  key: string;
}

/** Reads the pair; a missing file or a key that does not match the certificate is a clear error. */
async function readTlsFiles(files: TlsFiles, where: string): Promise<tls.SecureContextOptions> {
  let options: tls.SecureContextOptions;
  try {
    options = { cert: await readFile(files.cert), key: await readFile(files.key) };
  } catch (err) {
    throw new Error(
      `${where}.tls: cannot read ${(err as NodeJS.ErrnoException).path ?? 'a file'} (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    tls.createSecureContext(options);
  } catch (err) {
    throw new Error(
      `${where}.tls: ${files.cert} and ${files.key} are not a certificate and its key (${(err as Error).message})`,
    );
  }
  return options;
}

/** Serves with the pair from now on (new connections; open ones keep theirs). */
export async function serveWithTlsFiles(server: Server, files: TlsFiles, where: string): Promise<void> {
  server.setSecureContext(await readTlsFiles(files, where));
}
