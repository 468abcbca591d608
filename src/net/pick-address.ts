import { lookup } from 'node:dns/promises';
import { type IpAddress, parseIpAddress } from './address-ranges.js';
import { hostNotAllowed } from './egress-errors.js';
import type { EgressPolicy } from './egress-policy.js';
import type { EgressTarget } from './egress-target.js';

/** One DNS answer, as `dns.promises.lookup(host, {all: true})` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has; injectable so tests decide what "DNS" says. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The operating system's resolver (hosts file, then DNS), as sockets would use it. */
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true });

/** What {@link pickAddress} needs. */
export interface PickAddressDeps {
  policy: EgressPolicy;
  resolver: Resolver;
  /** Upper bound on the resolver; a lookup that takes longer counts as failed. */
  timeoutMs: number;
}

/**
 * Resolves the target's host ONCE and returns the address to connect to, so the socket goes to the
 * address that was checked and a second lookup cannot rebind it (SS-07). Every answer must pass:
 * one private record among public ones refuses the host (SS-06), as does a failed or empty lookup,
 * since the guard fails closed. Throws `HUB_ERR_EGRESS_DENIED`.
 */
export async function pickAddress(target: EgressTarget, deps: PickAddressDeps): Promise<IpAddress> {
  const literal = parseIpAddress(target.hostname);
  if (literal !== undefined) {
    if (!deps.policy.allows(target, literal)) {
      throw hostNotAllowed(target.hostname, `${literal.range()} address, not allowlisted`);
    }
    return literal;
  }
  const answers = await resolveWithin(target.hostname, deps);
  const checked: IpAddress[] = [];
  for (const answer of answers) {
    const address = parseIpAddress(answer.address);
    if (address === undefined) {
      throw hostNotAllowed(target.hostname, `DNS answer '${answer.address}' is not an address`);
    }
    if (!deps.policy.allows(target, address)) {
      throw hostNotAllowed(target.hostname, `resolves to ${address.toString()} (${address.range()})`);
    }
    checked.push(address);
  }
  const first = checked[0];
  if (first === undefined) throw hostNotAllowed(target.hostname, 'no DNS answers');
  return first;
}

async function resolveWithin(hostname: string, deps: PickAddressDeps): Promise<readonly ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('lookup timed out')), deps.timeoutMs);
  });
  try {
    return await Promise.race([deps.resolver(hostname), expired]);
  } catch (error) {
    throw hostNotAllowed(
      hostname,
      `DNS lookup failed: ${error instanceof Error ? error.message : 'unknown'}`,
    );
  } finally {
    clearTimeout(timer);
  }
}
