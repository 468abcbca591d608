export {
  createServerRegistry,
  assertServerName,
  type RegisteredServer,
  type ServerRegistry,
} from './registry.js';
export {
  API_KEY_VAR,
  connectionScope,
  missingUserVars,
  needsOAuth,
  userVarFields,
  type UserVarField,
} from './server-view.js';
export { resolveServer, type ResolvedServer } from './resolve-spec.js';
export {
  substitute,
  hasPlaceholder,
  type PlaceholderContext,
  type PlaceholderTarget,
} from './placeholders.js';
