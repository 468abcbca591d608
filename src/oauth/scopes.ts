import type { Kv } from '../kv/index.js';
import { stepUpKey } from './flow-ids.js';

/** Space-separated scopes (RFC 6749 §3.3) merged in order, without duplicates; undefined when empty. */
export function combineScopes(...lists: (string | null | undefined)[]): string | undefined {
  const seen = new Set<string>();
  for (const list of lists) {
    for (const scope of (list ?? '').split(' ')) {
      if (scope !== '') seen.add(scope);
    }
  }
  return seen.size === 0 ? undefined : [...seen].join(' ');
}

/**
 * The scope to ask for: the resource's challenge, else its PRM `scopes_supported` (RFC 9728 §2),
 * else the admin's `oauth.scope` (MCP authorization: scope selection strategy).
 */
export function chooseScope(
  challengeScope: string | undefined,
  scopesSupported: readonly string[] | undefined,
  configuredScope: string | undefined,
): string | undefined {
  return (
    combineScopes(challengeScope) ??
    combineScopes((scopesSupported ?? []).join(' ')) ??
    combineScopes(configuredScope)
  );
}

/**
 * Claims one step-up (OA-21) for a (user, server): slots 1..max are taken with set-if-absent, so
 * concurrent claims on any instance never exceed the cap. False once the budget is spent.
 */
export async function claimStepUp(
  kv: Kv,
  userId: string,
  serverName: string,
  max: number,
  windowMs: number,
): Promise<boolean> {
  for (let slot = 1; slot <= max; slot += 1) {
    if (await kv.setIfAbsent(stepUpKey(userId, serverName, slot), '1', { ttlMs: windowMs })) return true;
  }
  return false;
}
