import type { ProviderIdentity } from './provisioning.js';

/** Most group names taken from one claim; a provider sending more is cut off here (and logged). */
export const MAX_GROUPS = 500;
/** Longest group name kept; longer ones are dropped (a group name is shown and matched whole). */
export const MAX_GROUP_NAME_LENGTH = 256;
/** RFC 5321 §4.5.3.1 limits a path to 256 octets; 320 covers a full address. */
const MAX_EMAIL_LENGTH = 320;

/** Claims as openid-client returns them: a JSON object. */
export type ClaimSet = Readonly<Record<string, unknown>>;

/** The group names of a claim: a list of strings (or one string); anything else means none. */
export function groupNames(value: unknown): { names: string[]; truncated: boolean } {
  const raw = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  const names = [
    ...new Set(
      raw
        .filter((item): item is string => typeof item === 'string')
        .map((item) => item.trim())
        .filter((item) => item !== '' && item.length <= MAX_GROUP_NAME_LENGTH),
    ),
  ];
  return { names: names.slice(0, MAX_GROUPS), truncated: names.length > MAX_GROUPS };
}

/**
 * True when the provider said the group claim is elsewhere (OpenID Connect Core §5.6.2
 * distributed claims; Entra ID does so for users in too many groups), which the hub does not fetch.
 */
export function groupsClaimIsDistributed(claims: ClaimSet, claim: string): boolean {
  const names = claims._claim_names;
  return typeof names === 'object' && names !== null && Object.hasOwn(names, claim);
}

/** Whether a claim set holds what the hub needs, so userinfo need not be asked. */
export function needsUserinfo(idToken: ClaimSet, groupsClaim: string | undefined): boolean {
  if (typeof idToken.email !== 'string') return true;
  return groupsClaim !== undefined && !Object.hasOwn(idToken, groupsClaim);
}

/**
 * The identity from a verified ID token, filled in from userinfo where the token is silent.
 * Email and `email_verified` are taken together from one source, so a verified flag never
 * vouches for an address from the other.
 */
export function identityFrom(
  issuer: string,
  idToken: ClaimSet & { sub: string },
  userinfo: ClaimSet | undefined,
  groupsClaim: string | undefined,
): ProviderIdentity & { groupsTruncated: boolean } {
  const emailSource = typeof idToken.email === 'string' ? idToken : (userinfo ?? {});
  const email =
    typeof emailSource.email === 'string' && emailSource.email.length <= MAX_EMAIL_LENGTH
      ? emailSource.email
      : undefined;
  let groups: { names: string[]; truncated: boolean } = { names: [], truncated: false };
  if (groupsClaim !== undefined) {
    const source = Object.hasOwn(idToken, groupsClaim) ? idToken : (userinfo ?? {});
    groups = groupNames(source[groupsClaim]);
  }
  return {
    issuer,
    subject: idToken.sub,
    email,
    emailVerified: email !== undefined && emailSource.email_verified === true,
    groups: groups.names,
    groupsTruncated: groups.truncated,
  };
}
