/**
 * Who is calling: a JWT, a forward key, or (when the config says so) nobody in particular.
 * A credential that is present but wrong is always a 401, never passed on.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthConfig } from '../config/schema.js';
import { AifdError } from '../errors.js';
import { ForwardKeyTable } from './forward-keys.js';
import { ANONYMOUS, type Identity } from './identity.js';
import type { Revocations } from './revocations.js';
import { createTokenVerifier, type TokenVerifier } from './tokens.js';

export interface Authenticator {
  authenticate(headers: IncomingHttpHeaders): Promise<Identity>;
}

export async function createAuthenticator(
  auth: AuthConfig,
  revocations: Revocations | undefined,
): Promise<Authenticator> {
  const verifier: TokenVerifier | undefined = auth.jwt ? await createTokenVerifier(auth.jwt) : undefined;
  const forwardKeys = new ForwardKeyTable(auth.forwardKeys);
  return {
    async authenticate(headers) {
      const credential = credentialOf(headers);
      if (credential === undefined) {
        if (auth.anonymous) return ANONYMOUS;
        throw new AifdError(
          'missing_credentials',
          'no credential: send "Authorization: Bearer <your aifd token or key>"',
        );
      }
      if (credential === '') throw new AifdError('missing_credentials', 'the bearer credential is empty');
      if (verifier && looksLikeJwt(credential)) {
        const identity = await verifier.verify(credential);
        if (revocations?.isRevoked(identity)) throw new AifdError('token_revoked', 'the token has been revoked');
        return identity;
      }
      const identity = forwardKeys.lookup(credential);
      if (identity) return identity;
      // SDKs always send some key: where anonymous access is on, an unknown key is anonymous.
      // A JWT that fails is never downgraded: it was an attempt to be someone.
      if (auth.anonymous && !looksLikeJwt(credential)) return ANONYMOUS;
      throw new AifdError(
        'invalid_api_key',
        looksLikeJwt(credential) ? 'tokens are not accepted by this gateway' : 'the key is not known to this gateway',
      );
    },
  };
}

/**
 * The credential from `Authorization: Bearer …`, an `x-api-key` header (Anthropic's SDKs) or an
 * `api-key` header (Azure's); '' for an empty one. Two that differ are refused: which caller the
 * request is would depend on which one aifd read.
 */
function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const found: string[] = [];
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^bearer(?:\s+(.*))?$/i.exec(authorization.trim());
    if (!match) throw new AifdError('invalid_api_key', 'the Authorization header must be "Bearer <credential>"');
    found.push((match[1] ?? '').trim());
  }
  for (const name of ['x-api-key', 'api-key'] as const) {
    const value = headers[name];
    if (typeof value === 'string') found.push(value.trim());
  }
  if (found.some((credential) => credential !== found[0]))
    throw new AifdError('invalid_api_key', 'the request carries two different credentials; send one');
  return found[0];
}

function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && credential.split('.').length === 3;
}
