// The store's public face: other folders import from here only.
export { createDatabase, type DatabaseOptions, type StoreDatabase, type StoreDialect } from './database.js';
export { migrateToLatest } from './migrate.js';
export type { Database } from './tables.js';
export type { JsonObject } from './json-text.js';
export type { RepositoryDeps } from './repository-deps.js';
export { createRepositories, type Repositories } from './repositories.js';
export {
  createUsersRepository,
  type ExternalIdentity,
  type NewExternalUser,
  type NewUser,
  type RemovedUser,
  type UserListOptions,
  type UserOrigin,
  type UserPage,
  type UserRecord,
  type UserRole,
  type UsersRepository,
} from './users-repository.js';
export {
  createServersRepository,
  type NewServer,
  type ServerChanges,
  type ServerListOptions,
  type ServerPage,
  type ServerRecord,
  type ServersRepository,
} from './servers-repository.js';
export {
  aclBits,
  createAclRepository,
  type AclEntry,
  type AclGrant,
  type AclPrincipal,
  type AclReplacementEntry,
  type AclRepository,
  type AclResourceType,
} from './acl-repository.js';
export {
  createCredentialsRepository,
  SYSTEM_USER_ID,
  type CredentialInput,
  type CredentialKey,
  type CredentialKind,
  type CredentialMetadata,
  type CredentialRecord,
  type CredentialsRepository,
} from './credentials-repository.js';
export {
  createAuditRepository,
  type AuditEvent,
  type AuditFilter,
  type AuditListOptions,
  type AuditPage,
  type AuditRepository,
  type NewAuditEvent,
} from './audit-repository.js';
export {
  createGroupsRepository,
  type GroupRecord,
  type GroupsRepository,
  type SourcedGroupSync,
} from './groups-repository.js';
export {
  createOAuthServerRepository,
  type OAuthServerKey,
  type OAuthServerRecord,
  type OAuthServerRecordInput,
  type OAuthServerRepository,
} from './oauth-server-repository.js';
export {
  createBrowserSessionsRepository,
  type BrowserSessionRecord,
  type BrowserSessionsRepository,
  type SessionMethod,
} from './browser-sessions-repository.js';
