import { HubError } from '../errors/index.js';
import type {
  AclEntry,
  AclPrincipal,
  AclReplacementEntry,
  Repositories,
  ServerRecord,
} from '../store/index.js';
import { ROLE_BITS } from './access.js';
import { ADDRESS_SHAPE, normaliseAddress } from './principal-search.js';
import type { GrantChange, PrincipalInput, PrincipalRef } from './sharing-service.js';

/** The 400 for a permissions body that names unknown or repeated principals. */
export function invalidPermissions(errors: { path: string; message: string }[]): HubError {
  const first = errors[0]?.message ?? 'invalid';
  return new HubError('HUB_ERR_VALIDATION', {
    message: errors.length === 1 ? `Invalid permissions: ${first}` : 'Invalid permissions',
    details: { errors },
  });
}

/** A principal as it appears in logs and the audit trail: type and id (an address for `address`). */
export function principalText(principal: AclPrincipal): string {
  if (principal.type === 'public') return 'public:';
  return principal.type === 'address' ? `address:${principal.email}` : `${principal.type}:${principal.id}`;
}

/**
 * Turns what a caller asks to grant (the hub's whole-list PUT, or LibreChat's incremental change)
 * into ACL entries, looking principals up by id, address or group name.
 */
export class GrantResolver {
  constructor(private readonly repos: Pick<Repositories, 'users' | 'groups'>) {}

  /**
   * The ACL entries for the requested grants. A user named by an address with no account becomes an
   * `address` entry, which grants nothing, so the answer is the same either way (V-13); every
   * unknown user id, group id (V-14) or group name is named in the 400.
   */
  async resolve(inputs: readonly PrincipalInput[]): Promise<AclReplacementEntry[]> {
    const errors: { path: string; message: string }[] = [];
    const entries: AclReplacementEntry[] = [];
    const seen = new Set<string>();
    for (const [index, input] of inputs.entries()) {
      const path = `principals[${index}]`;
      const given = [input.id, input.email, input.name].filter((v) => v !== undefined).length;
      if (
        given !== 1 ||
        (input.type === 'user' && input.name !== undefined) ||
        (input.type === 'group' && input.email !== undefined)
      ) {
        errors.push({
          path,
          message:
            input.type === 'user'
              ? "give exactly one of 'id' or 'email'"
              : "give exactly one of 'id' or 'name'",
        });
        continue;
      }
      const principal = await this.principalOf(input, path, errors);
      if (principal === null) continue;
      // A user named twice, by id and by address, is one key: the address of the account.
      const key = principal.type === 'user' ? `user:${principal.id}` : principalText(principal);
      if (seen.has(key)) errors.push({ path, message: 'names a principal already listed' });
      seen.add(key);
      entries.push({ principal, permBits: ROLE_BITS[input.role] });
    }
    if (errors.length > 0) throw invalidPermissions(errors);
    return entries;
  }

  /** The principal one input names; null (with the reason in `errors`) when it names none. */
  private async principalOf(
    input: PrincipalInput,
    path: string,
    errors: { path: string; message: string }[],
  ): Promise<AclPrincipal | null> {
    if (input.type === 'user' && input.email !== undefined) {
      const address = normaliseAddress(input.email);
      if (!ADDRESS_SHAPE.test(address)) {
        errors.push({ path, message: 'email is not an e-mail address' });
        return null;
      }
      const user = await this.repos.users.findByEmail(address);
      return user === null ? { type: 'address', email: address } : { type: 'user', id: user.id };
    }
    if (input.type === 'user') {
      // Ids are random and never guessed, so naming an unknown one tells nobody anything.
      const user = await this.repos.users.findById(input.id ?? '');
      if (user === null) errors.push({ path, message: `unknown user ${JSON.stringify(input.id)}` });
      return user === null ? null : { type: 'user', id: user.id };
    }
    const group =
      input.name !== undefined
        ? await this.repos.groups.findByName(input.name)
        : await this.repos.groups.findById(input.id ?? '');
    if (group === null) {
      errors.push({ path, message: `unknown group ${JSON.stringify(input.name ?? input.id)}` });
      return null;
    }
    return { type: 'group', id: group.id };
  }

  /**
   * The grants to users and groups after an incremental change. Users given by address are matched
   * whether the entry holds the account or the address, so a change reads the same either way (V-13).
   */
  async merge(
    record: ServerRecord,
    current: readonly AclEntry[],
    change: GrantChange,
  ): Promise<AclReplacementEntry[]> {
    const repos = this.repos;
    const ownerErrors: { path: string; message: string }[] = [];
    const accountAddress = async (principal: AclPrincipal): Promise<string | null> => {
      if (principal.type === 'address') return principal.email;
      if (principal.type !== 'user') return null;
      const user = await repos.users.findById(principal.id);
      return user === null ? null : normaliseAddress(user.email);
    };
    const owner = await repos.users.findById(record.ownerId);
    const ownerAddress = owner === null ? null : normaliseAddress(owner.email);
    const namesOwner = (ref: PrincipalRef): boolean =>
      ref.type === 'user' &&
      (ref.id === record.ownerId ||
        (ref.email !== undefined && normaliseAddress(ref.email) === ownerAddress));

    for (const [index, ref] of change.remove.entries())
      if (namesOwner(ref))
        ownerErrors.push({ path: `removed[${index}]`, message: 'the owner cannot be removed' });
    for (const [index, input] of change.upsert.entries())
      if (namesOwner(input) && input.role !== 'owner')
        ownerErrors.push({ path: `updated[${index}]`, message: "the owner's role cannot be changed" });
    if (ownerErrors.length > 0) throw invalidPermissions(ownerErrors);

    const upserts = (await this.resolve(change.upsert.filter((input) => !namesOwner(input)))).filter(
      (e) => !(e.principal.type === 'user' && e.principal.id === record.ownerId),
    );
    // Entries a change replaces or drops, keyed as stored, plus the addresses they stand for.
    const dropKeys = new Set<string>();
    const dropAddresses = new Set<string>();
    for (const ref of change.remove) {
      if (ref.type === 'group') {
        const group = ref.id !== undefined ? await repos.groups.findById(ref.id) : null;
        const named = ref.name !== undefined ? await repos.groups.findByName(ref.name) : null;
        for (const g of [group, named]) if (g !== null) dropKeys.add(`group:${g.id}`);
      } else {
        if (ref.id !== undefined) dropKeys.add(`user:${ref.id}`);
        if (ref.email !== undefined) dropAddresses.add(normaliseAddress(ref.email));
      }
    }
    for (const { principal } of upserts) {
      dropKeys.add(principalText(principal));
      const address = await accountAddress(principal);
      if (address !== null) dropAddresses.add(address);
    }
    const kept: AclReplacementEntry[] = [];
    for (const { principal, permBits } of current) {
      if (principal.type === 'public' || (principal.type === 'user' && principal.id === record.ownerId))
        continue;
      if (dropKeys.has(principalText(principal))) continue;
      const address = await accountAddress(principal);
      if (address !== null && dropAddresses.has(address)) continue;
      kept.push({ principal, permBits });
    }
    return [...kept, ...upserts];
  }
}
