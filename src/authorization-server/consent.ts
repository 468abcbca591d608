import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { OAuthServerRepository } from '../store/index.js';

/** The scopes an authorization asks for that the user has not yet approved for this client. */
export interface MissingConsent {
  /** OpenID scopes (`openid`, `offline_access`). */
  oidcScopes: string[];
  oidcClaims: string[];
  /** Resource indicator → scopes. */
  resourceScopes: Record<string, string[]>;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads what the consent prompt's details say is missing. */
export function missingConsent(details: unknown): MissingConsent {
  const record = isRecord(details) ? details : {};
  const resources = isRecord(record.missingResourceScopes) ? record.missingResourceScopes : {};
  const resourceScopes: Record<string, string[]> = {};
  for (const [indicator, scopes] of Object.entries(resources)) resourceScopes[indicator] = strings(scopes);
  return {
    oidcScopes: strings(record.missingOIDCScope),
    oidcClaims: strings(record.missingOIDCClaims),
    resourceScopes,
  };
}

/** The scopes of a stored grant's payload, as sets. */
function grantScopes(payload: Record<string, unknown>): {
  oidc: Set<string>;
  resources: Map<string, Set<string>>;
} {
  const openid = isRecord(payload.openid) ? payload.openid : {};
  const oidc = new Set(typeof openid.scope === 'string' ? openid.scope.split(' ') : []);
  const resources = new Map<string, Set<string>>();
  if (isRecord(payload.resources)) {
    for (const [indicator, scope] of Object.entries(payload.resources)) {
      resources.set(indicator, new Set(typeof scope === 'string' ? scope.split(' ') : []));
    }
  }
  return { oidc, resources };
}

/**
 * The id of a live grant by which this user already approved this client for everything now
 * missing (consent is per user and per client, and per resource and scope), or null. The newest
 * such grant wins. Claims are never pre-approved: a client asking for claims always asks.
 */
export async function approvedGrantId(
  repo: OAuthServerRepository,
  userId: string,
  clientId: string,
  missing: MissingConsent,
): Promise<string | null> {
  if (missing.oidcClaims.length > 0) return null;
  const grants = await repo.listForAccount('Grant', userId, clientId);
  for (const grant of grants.reverse()) {
    const { oidc, resources } = grantScopes(grant.payload);
    const coversOidc = missing.oidcScopes.every((scope) => oidc.has(scope));
    const coversResources = Object.entries(missing.resourceScopes).every(([indicator, scopes]) =>
      scopes.every((scope) => resources.get(indicator)?.has(scope) === true),
    );
    if (coversOidc && coversResources) return grant.id;
  }
  return null;
}

/**
 * Records the user's approval: the interaction's grant (or a new one) gains what was missing.
 * Returns the interaction result that finishes the consent prompt.
 */
export async function approve(
  provider: Provider,
  interaction: { grantId?: string | undefined },
  userId: string,
  clientId: string,
  missing: MissingConsent,
): Promise<InteractionResults> {
  const existing =
    interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId);
  // A grant of another user or client is never extended (it cannot be here, but the check is cheap).
  const grant =
    existing !== undefined && existing.accountId === userId && existing.clientId === clientId
      ? existing
      : new provider.Grant({ accountId: userId, clientId });
  if (missing.oidcScopes.length > 0) grant.addOIDCScope(missing.oidcScopes.join(' '));
  if (missing.oidcClaims.length > 0) grant.addOIDCClaims(missing.oidcClaims);
  for (const [indicator, scopes] of Object.entries(missing.resourceScopes)) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return { consent: { grantId: await grant.save() } };
}
