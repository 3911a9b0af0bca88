/** Who a request comes from, once authenticated, and what their credential narrows. */
export interface Identity {
  user: string;
  roles: readonly string[];
  via: 'jwt' | 'forward_key' | 'anonymous';
  /** JWT id, for revocation. */
  jti?: string;
  /** Issued-at (seconds), for revoking every token of a user issued before a moment. */
  iat?: number;
  /** Token claims that can only narrow what the ACL allows. */
  models?: readonly string[];
  paths?: readonly string[];
  /** Lower limits for this token's holder (`{"requests": "10/minute", "tokens": "1000/day"}`). */
  limits?: { requests?: string; tokens?: string };
}

export const ANONYMOUS: Identity = Object.freeze({ user: 'anonymous', roles: Object.freeze([]), via: 'anonymous' });
