/**
 * JWTs: the only file that imports jose. The algorithm is pinned by config (no `none`, no
 * HS/asymmetric mix-up). Verified tokens are cached until they expire, since a verification costs
 * about as much as the whole proxy hop; revocation is checked apart. The cache is keyed by the token
 * itself: a Map hashes a string in a fraction of what SHA-256 costs per request.
 */
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import type { z } from 'zod';
import type { authSchema } from '../config/schema.js';
import { AifdError } from '../errors.js';
import { parseRateString } from '../config/rate-string.js';
import type { Identity } from './identity.js';

type JwtConfig = NonNullable<z.output<typeof authSchema>['jwt']>;

type AsymmetricKey = Awaited<ReturnType<typeof jose.importSPKI>>;
type VerifyKey = Uint8Array | AsymmetricKey | jose.JWTVerifyGetKey;

const CACHE_LIMIT = 10_000;

export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

export async function createTokenVerifier(config: JwtConfig, now: () => number = Date.now): Promise<TokenVerifier> {
  const key = await verifyKey(config);
  const cache = new Map<string, { identity: Identity; expMs: number }>();
  const options: jose.JWTVerifyOptions = {
    algorithms: [config.algorithm],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: Math.round(config.clockTolerance / 1000),
    requiredClaims: ['sub'],
    currentDate: undefined,
  };
  return {
    async verify(token) {
      const hit = cache.get(token);
      if (hit && hit.expMs > now()) return hit.identity;
      if (hit) cache.delete(token);
      let payload: jose.JWTPayload;
      try {
        ({ payload } = await jose.jwtVerify(token, key as Uint8Array, { ...options, currentDate: new Date(now()) }));
      } catch (err) {
        throw toAuthError(err);
      }
      const identity = identityOf(payload);
      const expMs = payload.exp === undefined ? Infinity : payload.exp * 1000 + config.clockTolerance;
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
      cache.set(token, { identity, expMs });
      return identity;
    },
  };
}

export interface TokenRequest {
  user: string;
  roles: string[];
  models: string[];
  paths: string[];
  /** Lifetime in seconds; undefined for a token that never expires. */
  expiresInSec: number | undefined;
  limits?: { requests?: string; tokens?: string };
}

export interface SignedToken {
  token: string;
  jti: string;
  exp: number | null;
}

export async function signToken(config: JwtConfig, request: TokenRequest): Promise<SignedToken> {
  const jti = randomUUID();
  const claims: jose.JWTPayload = { roles: request.roles };
  if (request.models.length > 0) claims.models = request.models;
  if (request.paths.length > 0) claims.paths = request.paths;
  if (request.limits) claims.limits = request.limits;
  const builder = new jose.SignJWT(claims)
    .setProtectedHeader({ alg: config.algorithm, typ: 'JWT' })
    .setSubject(request.user)
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setIssuedAt()
    .setJti(jti);
  let exp: number | null = null;
  if (request.expiresInSec !== undefined) {
    exp = Math.floor(Date.now() / 1000) + request.expiresInSec;
    builder.setExpirationTime(exp);
  }
  return { token: await builder.sign(await signKey(config)), jti, exp };
}

async function verifyKey(config: JwtConfig): Promise<VerifyKey> {
  if (config.algorithm === 'HS256') return new TextEncoder().encode(config.secret!);
  if (config.jwksFile)
    return jose.createLocalJWKSet(JSON.parse(await readFile(config.jwksFile, 'utf8')) as jose.JSONWebKeySet);
  if (config.publicKeyFile) return jose.importSPKI(await readFile(config.publicKeyFile, 'utf8'), config.algorithm);
  throw new Error(`auth.jwt: ${config.algorithm} needs publicKeyFile or jwksFile to verify tokens`);
}

async function signKey(config: JwtConfig): Promise<Uint8Array | AsymmetricKey> {
  if (config.algorithm === 'HS256') return new TextEncoder().encode(config.secret!);
  if (!config.privateKeyFile) throw new Error(`auth.jwt: ${config.algorithm} needs privateKeyFile to sign tokens`);
  return jose.importPKCS8(await readFile(config.privateKeyFile, 'utf8'), config.algorithm);
}

function identityOf(payload: jose.JWTPayload): Identity {
  const roles = stringArray(payload.roles, 'roles') ?? [];
  const identity: Identity = { user: payload.sub!, roles, via: 'jwt' };
  if (payload.jti) identity.jti = payload.jti;
  if (payload.iat !== undefined) identity.iat = payload.iat;
  const models = stringArray(payload.models, 'models');
  const paths = stringArray(payload.paths, 'paths');
  if (models) identity.models = models;
  if (paths) identity.paths = paths;
  if (payload.limits !== undefined) identity.limits = limitsClaim(payload.limits);
  return identity;
}

function limitsClaim(value: unknown): { requests?: string; tokens?: string } {
  const claim = value as { requests?: unknown; tokens?: unknown };
  const out: { requests?: string; tokens?: string } = {};
  for (const field of ['requests', 'tokens'] as const) {
    const rate = claim?.[field];
    if (rate === undefined) continue;
    try {
      if (typeof rate !== 'string') throw new Error('not a string');
      parseRateString(rate);
    } catch {
      throw new AifdError('invalid_token', `the token's "limits.${field}" claim is not a rate such as "10/minute"`);
    }
    out[field] = rate;
  }
  return out;
}

function stringArray(value: unknown, claim: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new AifdError('invalid_token', `the token's "${claim}" claim must be a list of strings`);
  }
  return value as string[];
}

function toAuthError(err: unknown): AifdError {
  if (err instanceof AifdError) return err;
  const code = (err as { code?: string }).code;
  const claim = (err as { claim?: string }).claim;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new AifdError('token_expired', 'the token has expired; ask for a new one (aifd token-gen)');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'nbf' || claim === 'iat') return new AifdError('token_not_yet_valid', 'the token is not valid yet');
      return new AifdError('invalid_token', `the token's "${claim}" claim is not accepted`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new AifdError('bad_signature', 'the token signature does not verify');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new AifdError('invalid_token', 'the token is signed with an algorithm this gateway does not accept');
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new AifdError('bad_signature', 'no known key verifies the token');
    default:
      return new AifdError('malformed_token', 'the token is not a valid JWT');
  }
}
