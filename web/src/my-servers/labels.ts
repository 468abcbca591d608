import type { Principal, ShareRole } from './my-servers-api.ts';

/** How each sharing role reads in a sentence. */
export const ROLE_WORDS: Record<ShareRole, string> = {
  viewer: 'can use',
  editor: 'can use and edit',
  owner: 'full control',
};

/** How a person or group is named: people by address, groups by name (or id when the hub gives no name). */
export function principalName(principal: Pick<Principal, 'type' | 'id' | 'email' | 'name'>): string {
  if (principal.type === 'group') return `group ${principal.name ?? principal.id ?? ''}`.trim();
  return principal.email ?? principal.id ?? 'an account that is gone';
}
