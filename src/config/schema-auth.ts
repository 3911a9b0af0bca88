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
    algorithm: z.enum(['HS256', 'EdDSA', 'ES256']).default('HS256'),
    issuer: z.string().default('aifd'),
    audience: z.string().default('aifd'),
    clockTolerance: durationMs('clock skew accepted on exp/nbf').prefault('30s'),
    defaultExpires: z.string().default('30d'),
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
  key: z.string().min(1),
  user: z.string().min(1),
  roles: stringList.default([]),
});

export const authSchema = z.strictObject({
  anonymous: z.boolean().default(false),
  jwt: jwtSchema.optional(),
  forwardKeys: z.array(forwardKeySchema).default([]),
  network: networkSchema.optional().describe('address rules for every caller'),
  users: z
    .record(z.string(), z.strictObject({ network: networkSchema }))
    .optional()
    .describe('address rules per user'),
});

const aclRuleSchema = z.strictObject({
  users: stringList.optional(),
  roles: stringList.optional(),
  upstreams: stringList.optional(),
  methods: stringList.optional(),
  paths: stringList.optional(),
  models: stringList.optional(),
  effect: z.enum(['allow', 'deny']),
});

export const aclSchema = z.strictObject({
  default: z.enum(['allow', 'deny']).default('allow'),
  rules: z.array(aclRuleSchema).default([]),
});
