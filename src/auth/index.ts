export { createTokenService, type TokenService, type TokenClaims, type ExternalIssuer } from './tokens.js';
export { hashPassword, verifyPassword } from './passwords.js';
export {
  createIdentityService,
  DEFAULT_TOKEN_TTL_SECONDS,
  type Identity,
  type IdentityService,
  type UserDirectory,
  type UserRecord,
} from './identity.js';
export {
  isRole,
  permissionsFor,
  type Role,
  type McpPermission,
  type McpServerPermissions,
  type RolePermissionTable,
} from './permissions.js';
