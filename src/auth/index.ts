export {
  createTokenService,
  HUB_TOKEN_ISSUER,
  SHARED_SECRET_ISSUER,
  type TokenService,
  type TokenClaims,
  type ExternalIssuer,
  type ExternalTokenClaims,
  type HubTokenClaims,
} from './tokens.js';
export { hashPassword, verifyPassword } from './passwords.js';
export {
  createIdentityService,
  DEFAULT_TOKEN_TTL_SECONDS,
  type Identity,
  type IdentityService,
  type IdentityServiceOptions,
  type AccountCacheOption,
  type UserDirectory,
} from './identity.js';
export {
  resolveExternalAccount,
  type ExternalAccountStore,
  type ExternalIdentity,
  type UserRecord,
} from './external-accounts.js';
export {
  isRole,
  permissionsFor,
  type Role,
  type McpPermission,
  type McpServerPermissions,
  type RolePermissionTable,
} from './permissions.js';
