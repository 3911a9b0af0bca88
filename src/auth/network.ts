import type { AuthConfig } from '../config/schema.js';
import { AifdError } from '../errors.js';
import { AddressSet } from '../util/cidr.js';

interface Rules {
  allow: AddressSet | undefined;
  deny: AddressSet | undefined;
}

/** CIDR allow and deny lists, for every caller and per user. Deny wins; a non-empty allow list is exclusive. */
export class NetworkPolicy {
  private readonly global: Rules | undefined;
  private readonly users = new Map<string, Rules>();

  constructor(auth: AuthConfig | undefined) {
    this.global = auth?.network ? toRules(auth.network) : undefined;
    for (const [user, settings] of Object.entries(auth?.users ?? {})) this.users.set(user, toRules(settings.network));
  }

  /** Throws 403 address_not_allowed when `address` may not call (for this user, when given). */
  check(address: string, user?: string): void {
    const rules = user === undefined ? this.global : this.users.get(user);
    if (!rules) return;
    if (rules.deny?.has(address) || (rules.allow && rules.allow.size > 0 && !rules.allow.has(address))) {
      const who = user === undefined ? '' : ` for user "${user}"`;
      throw new AifdError('address_not_allowed', `requests from ${address} are not allowed${who}`);
    }
  }
}

function toRules(network: { allow?: string[] | undefined; deny?: string[] | undefined }): Rules {
  return {
    allow: network.allow ? new AddressSet(network.allow) : undefined,
    deny: network.deny ? new AddressSet(network.deny) : undefined,
  };
}
