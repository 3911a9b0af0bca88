/** One way for tests to mint an HS256 JWT as `aifd token-gen` would (or deliberately off in one field). */
import * as jose from 'jose';

export interface TestTokenOptions {
  secret: string;
  iss?: string;
  aud?: string;
  exp?: number | string;
  nbf?: number | string;
}

/** `claims.sub` defaults to "ann", `claims.jti` to a random one, `roles` to none. */
export function hsToken(claims: jose.JWTPayload, options: TestTokenOptions): Promise<string> {
  const builder = new jose.SignJWT({ roles: [], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject((claims.sub as string) ?? 'ann')
    .setIssuer(options.iss ?? 'aifd')
    .setAudience(options.aud ?? 'aifd')
    .setIssuedAt()
    .setJti((claims.jti as string) ?? `${claims.sub ?? 'ann'}-${Math.random()}`)
    .setExpirationTime(options.exp ?? '1h');
  if (options.nbf !== undefined) builder.setNotBefore(options.nbf);
  return builder.sign(new TextEncoder().encode(options.secret));
}
