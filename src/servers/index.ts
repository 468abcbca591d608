// The servers feature's public face: user-created servers, sharing, audit.
export {
  createServersFeature,
  DEFAULT_INSPECTION_TIMEOUT_MS,
  type ServersFeature,
  type ServersFeatureDeps,
} from './wire.js';
export { type ServersService } from './servers-service.js';
export { type PrincipalMatch, type PrincipalQuery } from './principal-search.js';
export {
  type GrantChange,
  type PrincipalRef,
  type PermissionsInput,
  type PermissionsView,
  type PrincipalInput,
  type PrincipalView,
  type PublicRole,
  type SharingService,
} from './sharing-service.js';
export {
  createAuditLog,
  type AuditAction,
  type AuditDetails,
  type AuditEntry,
  type AuditListing,
  type AuditLog,
  type AuditView,
} from './audit-log.js';
export {
  createServerInspector,
  type InspectionResult,
  type RemoteSpec,
  type ServerInspector,
  type ServerInspectorDeps,
} from './inspector.js';
export { type UrlCheck } from './inspect-server.js';
export { type ListOptions, type ListPage } from './listing.js';
export { type ServerView } from './views.js';
export { type ShareRole } from './access.js';
export { CATALOG_CHANNEL, parseCatalogChange, type CatalogChange } from './catalog-change.js';
export { type PoolHandle } from './server-connections.js';
export { type Reopen } from './reopen-connections.js';
export { SECRET_MASK } from './secrets.js';
export { parseUserServerInput, type UserServerConfig, type UserInputResult } from './user-input.js';
