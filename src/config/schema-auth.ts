/** Who may call: JWT, forward keys, networks, and the ACL's rules. */
import { z } from 'zod';
import { isCidr } from '../util/cidr.js';
import { durationMs, stringList } from './schema-fields.js';

const jwtSchema = z
  .strictObject({
    secret: z.string().optional().describe('HS256 shared secret, at least 32 bytes'),
    publicKeyFile: z.string().optional().describe('EdDSA/ES256: PEM public key the daemon verifies with'),
    privateKeyFile: z.string().optional().describe('EdDSA/ES256: PEM private key token-gen signs with'),
    jwksFile: z.string().optional().describe('EdDSA/ES256: a JWKS file the daemon verifies with'),
    algorithm: z.enum(['HS256', 'EdDSA', 'ES256']).default('HS256').describe('how tokens are signed'),
    issuer: z.string().default('aifd').describe('the iss tokens carry and must carry'),
    audience: z.string().default('aifd').describe('the aud tokens carry and must carry'),
    clockTolerance: durationMs('clock skew accepted on exp/nbf').prefault('30s'),
    defaultExpires: z.string().default('30d').describe('lifetime of a token token-gen makes without --expires'),
  })
  .superRefine((jwt, ctx) => {
    if (jwt.algorithm === 'HS256') {
      if (!jwt.secret) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'HS256 needs a secret' });
      else if (Buffer.byteLength(jwt.secret) < 32)
        ctx.addIssue({ code: 'custom', path: ['secret'], message: 'the secret must be at least 32 bytes' });
      if (jwt.publicKeyFile || jwt.privateKeyFile || jwt.jwksFile) {
        ctx.addIssue({ code: 'custom', path: ['algorithm'], message: 'key files belong to EdDSA or ES256, not HS256' });
      }
    } else {
      if (jwt.secret)
        ctx.addIssue({ code: 'custom', path: ['secret'], message: `${jwt.algorithm} uses key files, not a secret` });
      if (!jwt.publicKeyFile && !jwt.jwksFile && !jwt.privateKeyFile) {
        ctx.addIssue({
          code: 'custom',
          path: ['publicKeyFile'],
          message: `${jwt.algorithm} needs publicKeyFile or jwksFile (and privateKeyFile for token-gen)`,
        });
      }
    }
  });

const cidrList = z.array(z.string().min(1)).superRefine((list, ctx) => {
  list.forEach((entry, index) => {
    if (!isCidr(entry))
      ctx.addIssue({ code: 'custom', path: [index], message: `"${entry}" is not an address or CIDR block` });
  });
});

const networkSchema = z.strictObject({
  allow: cidrList.optional().describe('only these addresses may call (empty or absent: any)'),
  deny: cidrList.optional().describe('these addresses may never call'),
});

const forwardKeySchema = z.strictObject({
  key: z.string().min(1).describe('the key a caller sends as its API key'),
  user: z.string().min(1).describe('the user it stands for'),
  roles: stringList.default([]).describe("the user's roles"),
});

export const authSchema = z.strictObject({
  anonymous: z.boolean().default(false).describe('let callers without a credential in (limits.ip counts them)'),
  jwt: jwtSchema.optional().describe('JWTs made by aifd token-gen'),
  forwardKeys: z.array(forwardKeySchema).default([]).describe('static keys, each standing for a user'),
  network: networkSchema.optional().describe('address rules for every caller'),
  users: z
    .record(z.string(), z.strictObject({ network: networkSchema.describe("the user's address rules") }))
    .optional()
    .describe('address rules per user'),
});

const aclRuleSchema = z.strictObject({
  users: stringList.optional().describe('users the rule is for (absent: any)'),
  roles: stringList.optional().describe('roles the rule is for (absent: any)'),
  upstreams: stringList.optional().describe('upstreams it covers (absent: any)'),
  methods: stringList.optional().describe('HTTP methods it covers (absent: any)'),
  paths: stringList.optional().describe('API path globs it covers, e.g. /v1/chat/* (absent: any)'),
  models: stringList.optional().describe('model globs it covers (absent: any)'),
  effect: z.enum(['allow', 'deny']).describe('what a request the rule matches gets'),
});

export const aclSchema = z.strictObject({
  default: z.enum(['allow', 'deny']).default('allow').describe('what a request no rule matches gets'),
  rules: z.array(aclRuleSchema).default([]).describe('the first rule that matches decides'),
});
