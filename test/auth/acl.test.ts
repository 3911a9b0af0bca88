import { describe, expect, it } from 'vitest';
import { decide, decideAlias, mayUseModel, type AclRequest } from '../../src/auth/acl.js';
import type { AclConfig } from '../../src/config/schema.js';
import type { Identity } from '../../src/auth/identity.js';

const acl: AclConfig = {
  default: 'deny',
  rules: [
    { users: ['mallory'], effect: 'deny' },
    {
      roles: ['dev'],
      paths: ['/v1/chat/completions', '/v1/embeddings', '/v1/models', '/v1/models/*'],
      models: ['gpt-4o-mini', 'text-embedding-*'],
      effect: 'allow',
    },
    { roles: ['dev'], methods: ['GET'], paths: ['/v1/files'], effect: 'allow' },
    { roles: ['research'], models: ['o1*'], effect: 'deny' },
    { roles: ['research'], paths: ['/v1/*'], effect: 'allow' },
    { users: ['admin'], paths: ['*'], models: ['*'], effect: 'allow' },
    { roles: ['ops'], paths: ['/V1/Audio/*'], effect: 'allow' },
    { upstreams: ['local'], effect: 'allow' },
  ],
};

const who = (user: string, roles: string[] = [], extra: Partial<Identity> = {}): Identity => ({
  user,
  roles,
  via: 'jwt',
  ...extra,
});
const req = (
  identity: Identity,
  method: string,
  path: string,
  model?: string,
  extra: Partial<AclRequest> = {},
): AclRequest => ({
  identity,
  upstream: 'openai',
  method,
  path,
  model,
  modelUnreadable: false,
  ...extra,
});

describe('ACL decisions', () => {
  const cases: [string, AclRequest, true | 'path_not_allowed' | 'model_not_allowed'][] = [
    ['dev chats with an allowed model', req(who('ann', ['dev']), 'POST', '/v1/chat/completions', 'gpt-4o-mini'), true],
    [
      'dev embeds with a glob model',
      req(who('ann', ['dev']), 'POST', '/v1/embeddings', 'text-embedding-3-small'),
      true,
    ],
    [
      'dev asks for a model not allowed',
      req(who('ann', ['dev']), 'POST', '/v1/chat/completions', 'gpt-4o'),
      'model_not_allowed',
    ],
    [
      'dev calls a path not allowed',
      req(who('ann', ['dev']), 'POST', '/v1/images/generations', 'gpt-4o-mini'),
      'path_not_allowed',
    ],
    ['dev lists models (no body, no model)', req(who('ann', ['dev']), 'GET', '/v1/models'), true],
    [
      'dev retrieves an allowed model by path',
      req(who('ann', ['dev']), 'GET', '/v1/models/gpt-4o-mini', 'gpt-4o-mini'),
      true,
    ],
    [
      'dev retrieves another model by path',
      req(who('ann', ['dev']), 'GET', '/v1/models/gpt-4o', 'gpt-4o'),
      'model_not_allowed',
    ],
    ['dev GETs files but may not POST them', req(who('ann', ['dev']), 'POST', '/v1/files'), 'path_not_allowed'],
    ['dev GETs files', req(who('ann', ['dev']), 'GET', '/v1/files'), true],
    [
      'a body without a readable model is denied under a model rule',
      req(who('ann', ['dev']), 'POST', '/v1/chat/completions', undefined, { modelUnreadable: true }),
      'model_not_allowed',
    ],
    [
      'mallory is denied even with a dev role',
      req(who('mallory', ['dev']), 'POST', '/v1/chat/completions', 'gpt-4o-mini'),
      'path_not_allowed',
    ],
    [
      'research may not use o1',
      req(who('rita', ['research']), 'POST', '/v1/chat/completions', 'o1-mini'),
      'model_not_allowed',
    ],
    ['research may use other models', req(who('rita', ['research']), 'POST', '/v1/responses', 'gpt-4.1'), true],
    [
      'admin may do anything, unreadable model too',
      req(who('admin'), 'DELETE', '/v1/files/file-1', undefined, { modelUnreadable: true }),
      true,
    ],
    [
      'nobody else gets in by default',
      req(who('zed', ['intern']), 'POST', '/v1/chat/completions', 'gpt-4o-mini'),
      'path_not_allowed',
    ],
    [
      'a rule for the local upstream',
      req(who('zed'), 'POST', '/v1/chat/completions', 'llama3', { upstream: 'local' }),
      true,
    ],
    ['paths compare without case', req(who('ann', ['dev']), 'POST', '/V1/CHAT/COMPLETIONS', 'gpt-4o-mini'), true],
    [
      'case does not escape a deny either',
      req(who('mallory'), 'POST', '/V1/Chat/Completions', 'gpt-4o-mini'),
      'path_not_allowed',
    ],
    ["a rule's path in capitals matches too", req(who('olga', ['ops']), 'POST', '/v1/audio/speech'), true],
    [
      'and only its own paths',
      req(who('olga', ['ops']), 'POST', '/v1/chat/completions', 'gpt-4o-mini'),
      'path_not_allowed',
    ],
  ];
  for (const [name, request, expected] of cases) {
    it(name, () => {
      const decision = decide(acl, request);
      if (expected === true) expect(decision.allowed).toBe(true);
      else expect(decision).toMatchObject({ allowed: false, code: expected });
    });
  }

  it('names the model or the path it refuses', () => {
    expect(decide(acl, req(who('ann', ['dev']), 'POST', '/v1/chat/completions', 'gpt-4o'))).toMatchObject({
      message: 'you may not use the model "gpt-4o"',
    });
    expect(decide(acl, req(who('zed'), 'POST', '/v1/audio/speech', 'tts-1'))).toMatchObject({
      message: 'you may not call POST /v1/audio/speech',
    });
  });

  it('lets token claims only narrow', () => {
    const narrowed = who('admin', [], { models: ['gpt-4o-mini'], paths: ['/v1/chat/*'] });
    expect(decide(acl, req(narrowed, 'POST', '/v1/chat/completions', 'gpt-4o-mini'))).toMatchObject({ allowed: true });
    expect(decide(acl, req(narrowed, 'POST', '/v1/chat/completions', 'gpt-4o'))).toMatchObject({
      code: 'model_not_allowed',
    });
    expect(decide(acl, req(narrowed, 'POST', '/v1/embeddings', 'gpt-4o-mini'))).toMatchObject({
      code: 'path_not_allowed',
    });
    // a claim never widens: dev with a wide token claim is still held to the rules
    const wide = who('ann', ['dev'], { models: ['*'] });
    expect(decide(acl, req(wide, 'POST', '/v1/chat/completions', 'gpt-4o'))).toMatchObject({
      code: 'model_not_allowed',
    });
  });

  it('allows everything without an ACL, but still applies claims', () => {
    expect(decide(undefined, req(who('x'), 'POST', '/v1/anything', 'm'))).toEqual({ allowed: true });
    expect(decide(undefined, req(who('x', [], { models: ['a'] }), 'POST', '/v1/anything', 'm'))).toMatchObject({
      code: 'model_not_allowed',
    });
  });

  it('knows which models a caller may use at all', () => {
    expect(mayUseModel(acl, who('ann', ['dev']), 'openai', 'gpt-4o-mini')).toBe(true);
    expect(mayUseModel(acl, who('ann', ['dev']), 'openai', 'gpt-4o')).toBe(false);
    expect(mayUseModel(acl, who('rita', ['research']), 'openai', 'o1-preview')).toBe(false);
    expect(mayUseModel(acl, who('rita', ['research']), 'openai', 'gpt-4o')).toBe(true);
    expect(mayUseModel(acl, who('admin', [], { models: ['gpt-*'] }), 'openai', 'dall-e-3')).toBe(false);
  });

  describe('aliases', () => {
    const aliasAcl: AclConfig = {
      default: 'deny',
      rules: [
        { roles: ['intern'], models: ['cheap'], effect: 'allow' },
        { roles: ['intern'], models: ['gpt-4o*'], effect: 'deny' },
        { roles: ['dev'], models: ['gpt-4o*'], effect: 'allow' },
        { roles: ['dev'], models: ['secret-alias'], effect: 'deny' },
        { roles: ['ops'], effect: 'allow' },
      ],
    };
    const chat = (identity: Identity, model: string) => req(identity, 'POST', '/v1/chat/completions', model);

    it('a rule naming the alias allows it without allowing the model behind it', () => {
      expect(decideAlias(aliasAcl, chat(who('ivy', ['intern']), 'cheap'), 'gpt-4o-mini').allowed).toBe(true);
      expect(decide(aliasAcl, chat(who('ivy', ['intern']), 'gpt-4o-mini'))).toMatchObject({
        code: 'model_not_allowed',
      });
    });

    it('an alias no rule names is as allowed as the model behind it', () => {
      expect(decideAlias(aliasAcl, chat(who('ann', ['dev']), 'smart'), 'gpt-4o').allowed).toBe(true);
      expect(decideAlias(aliasAcl, chat(who('ivy', ['intern']), 'smart'), 'gpt-4o')).toMatchObject({
        code: 'model_not_allowed',
      });
    });

    it('a rule denying the alias by name wins over the model behind it', () => {
      expect(decideAlias(aliasAcl, chat(who('ann', ['dev']), 'secret-alias'), 'gpt-4o')).toMatchObject({
        code: 'model_not_allowed',
      });
    });

    it('a rule about every model decides by the model behind the alias', () => {
      expect(decideAlias(aliasAcl, chat(who('otto', ['ops']), 'anything'), 'gpt-4o').allowed).toBe(true);
      expect(mayUseModel(aliasAcl, who('ivy', ['intern']), 'openai', 'cheap', 'gpt-4o-mini')).toBe(true);
      expect(mayUseModel(aliasAcl, who('ivy', ['intern']), 'openai', 'smart', 'gpt-4o')).toBe(false);
    });
  });
});
