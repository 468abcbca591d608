import type { Identity } from '../auth/index.js';
import { aclBits, type Repositories } from '../store/index.js';
import type { ServerAccess } from './access.js';

/** An address as accounts store it: compared without regard to case. */
export function normaliseAddress(email: string): string {
  return email.toLowerCase();
}

/** A shape check only, the same for every address: whether an account has it is never asked here. */
export const ADDRESS_SHAPE = /^[^\s@]+@[^\s@]+$/;

/** What a caller types into a people picker. */
export interface PrincipalQuery {
  /** At least two characters once trimmed (the route checks). */
  text: string;
  limit: number;
  /** Which kinds to answer; all when omitted. */
  types?: readonly ('user' | 'group')[] | undefined;
}

/** A user is shown by address only, never by id: the answer reads the same with or without an account. */
export type PrincipalMatch = { type: 'user'; email: string } | { type: 'group'; id: string; name: string };

/**
 * Principal search without an enumeration oracle (V-13). It answers only from what the caller can
 * already read: the users and groups on the lists of servers they may share (whose permissions GET
 * shows the same entries), the caller's own groups, and the typed text itself when it is a whole
 * address. Accounts are never searched, so no answer depends on whether an address has one.
 */
export function createPrincipalSearch(deps: {
  repos: Pick<Repositories, 'acl' | 'groups' | 'servers' | 'users'>;
  access: ServerAccess;
}): {
  search(caller: Identity, query: PrincipalQuery): Promise<PrincipalMatch[]>;
  visibleBits(caller: Identity): Promise<Map<string, number>>;
} {
  const { repos, access } = deps;

  /** Every server id the caller holds VIEW on with its bits; admins hold every bit on every server. */
  const visibleBits = async (caller: Identity): Promise<Map<string, number>> => {
    const bits = new Map<string, number>();
    if (caller.role === 'ADMIN') {
      let after: string | undefined;
      do {
        const page = await repos.servers.list({ limit: 500, after });
        for (const record of page.servers) bits.set(record.id, await access.bitsFor(record, caller));
        after = page.nextCursor ?? undefined;
      } while (after !== undefined);
      return bits;
    }
    for (const id of await access.visibleIds(caller)) {
      const record = await repos.servers.findById(id);
      if (record === null) continue;
      const held = await access.bitsFor(record, caller);
      if ((held & aclBits.VIEW) !== 0) bits.set(id, held);
    }
    return bits;
  };

  return {
    visibleBits,
    async search(caller, query) {
      const needle = normaliseAddress(query.text.trim());
      const wanted = (type: 'user' | 'group'): boolean =>
        query.types === undefined || query.types.includes(type);
      const addresses = new Set<string>();
      const groupIds = new Set<string>(await repos.groups.listGroupIdsForUser(caller.userId));
      for (const [serverId, held] of await visibleBits(caller)) {
        if ((held & aclBits.SHARE) === 0) continue;
        for (const { principal } of await repos.acl.listForResource(serverId)) {
          if (principal.type === 'group') groupIds.add(principal.id);
          else if (principal.type === 'address') addresses.add(principal.email);
          else if (principal.type === 'user') {
            const user = await repos.users.findById(principal.id);
            if (user !== null) addresses.add(normaliseAddress(user.email));
          }
        }
      }
      // A whole address is offered as typed, whether or not an account has it.
      if (ADDRESS_SHAPE.test(needle)) addresses.add(needle);

      const matches: PrincipalMatch[] = [];
      if (wanted('user'))
        for (const email of addresses) if (email.includes(needle)) matches.push({ type: 'user', email });
      if (wanted('group'))
        for (const id of groupIds) {
          const group = await repos.groups.findById(id);
          if (group !== null && group.name.toLowerCase().includes(needle))
            matches.push({ type: 'group', id: group.id, name: group.name });
        }
      const shown = (m: PrincipalMatch): string => (m.type === 'user' ? m.email : m.name.toLowerCase());
      // Exact matches first, then by what is shown: the order says nothing about accounts.
      matches.sort((a, b) => {
        const exact = Number(shown(b) === needle) - Number(shown(a) === needle);
        return exact !== 0 ? exact : shown(a) < shown(b) ? -1 : shown(a) > shown(b) ? 1 : 0;
      });
      return matches.slice(0, query.limit);
    },
  };
}
