export {
  createServerRegistry,
  assertServerName,
  mayAccessYaml,
  type DbServerTier,
  type RegisteredServer,
  type ServerRegistry,
  type ServerRegistryOptions,
} from './registry.js';
export {
  API_KEY_VAR,
  connectionScope,
  missingUserVars,
  needsOAuth,
  userVarFields,
  type UserVarField,
} from './server-view.js';
export { resolutionCount, resolveServerOnce, type ResolvedServer } from './resolve-spec.js';
export { resolveServer } from './resolution-cache.js';
export {
  substitute,
  hasPlaceholder,
  hasIdentityPlaceholder,
  removeIdentityPlaceholders,
  type PlaceholderContext,
  type PlaceholderTarget,
} from './placeholders.js';
