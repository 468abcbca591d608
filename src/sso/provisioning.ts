import { resolveExternalAccount, type ExternalAccountStore, type UserRecord } from '../auth/index.js';
import type { SsoProviderConfig } from '../config/index.js';
import { HubError, isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { GroupsRepository, UserRole } from '../store/index.js';

/** What a provider said about the person signing in, from its verified ID token (and userinfo). */
export interface ProviderIdentity {
  /** The provider's issuer: with `subject`, the key of the hub account. */
  issuer: string;
  subject: string;
  email: string | undefined;
  /** True only when the provider said `email_verified: true` (OpenID Connect Core §5.1). */
  emailVerified: boolean;
  /** Group names from the provider's `groupsClaim`; empty when it has none or sent none. */
  groups: readonly string[];
}

/** What provisioning needs from the rest of the hub. */
export interface ProvisioningDeps {
  users: ExternalAccountStore;
  groups: Pick<GroupsRepository, 'syncSourcedMemberships'>;
  /** The accounts service's role change at sign-in, so every instance hears of it. */
  applyRole: (userId: string, role: UserRole, providerId: string) => Promise<void>;
  logger: Logger;
}

/** The source of the hub groups a provider maintains. */
export function groupSource(providerId: string): string {
  return `oidc:${providerId}`;
}

/**
 * Finds or makes the hub account of a provider's identity and brings its role and groups in line
 * with the provider's claims. Accounts are keyed by (issuer, subject); a verified email links to the
 * local account that has it only when the provider is configured with `trustEmail`. A disabled
 * account is refused before anything about it changes.
 */
export async function provisionAccount(
  deps: ProvisioningDeps,
  provider: SsoProviderConfig,
  identity: ProviderIdentity,
): Promise<UserRecord> {
  let user: UserRecord;
  try {
    user = await resolveExternalAccount(
      deps.users,
      {
        kind: 'external',
        issuer: identity.issuer,
        subject: identity.subject,
        email: identity.email,
        emailVerified: identity.emailVerified,
      },
      provider.trustEmail ? new Set([identity.issuer]) : new Set(),
    );
  } catch (error) {
    // The subject names an existing hub id that is not this identity's: never sign in as it.
    if (isHubError(error, 'HUB_ERR_INVALID_TOKEN')) {
      throw new HubError('HUB_ERR_FORBIDDEN', {
        message: 'This identity cannot sign in to Switchboard.',
        cause: error,
      });
    }
    throw error;
  }
  if (user.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');

  if (provider.adminGroups !== undefined) {
    // Set at each sign-in from the claim, so leaving the admin group demotes at the next one.
    const isAdmin = identity.groups.some((group) => provider.adminGroups?.includes(group) === true);
    const role: UserRole = isAdmin ? 'ADMIN' : 'USER';
    if (role !== user.role) {
      await deps.applyRole(user.id, role, provider.id);
      user = { ...user, role };
    }
  }

  if (provider.syncGroups) {
    const change = await deps.groups.syncSourcedMemberships(
      user.id,
      groupSource(provider.id),
      identity.groups,
    );
    if (change.skipped.length > 0) {
      deps.logger.warn(
        { provider: provider.id, user: user.id, groups: change.skipped },
        'sso group names already used by groups the provider does not maintain: memberships not synced',
      );
    }
    if (change.added.length > 0 || change.removed.length > 0) {
      deps.logger.info(
        { provider: provider.id, user: user.id, added: change.added, removed: change.removed },
        'sso group memberships synced',
      );
    }
  }
  return user;
}
