import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TestCertificate {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** A self-signed certificate for 127.0.0.1, also written to `dir` as cert.pem and key.pem. */
export async function makeCertificate(dir: string, name = 'server'): Promise<TestCertificate> {
  const pems = await generate([{ name: 'commonName', value: `aifd test ${name}` }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const certFile = path.join(dir, `${name}-cert.pem`);
  const keyFile = path.join(dir, `${name}-key.pem`);
  await writeFile(certFile, pems.cert);
  await writeFile(keyFile, pems.private);
  return { cert: pems.cert, key: pems.private, certFile, keyFile };
}
