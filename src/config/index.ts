export {
  type AllowedAddress,
  type AllowedDomainRule,
  parseAllowedAddress,
  parseAllowedDomain,
} from './allowed-domains.js';
export { type EnvSource, expandEnvReferences, findEnvReferences, type Expansion } from './env-expansion.js';
export { type EnvSettings, LOG_LEVELS, type LogLevel, loadEnvSettings } from './env-settings.js';
export { type ConfigFile, configFileSchema } from './file-schema.js';
export { type ConfigIssue, type ConfigResult, formatIssues } from './issues.js';
export {
  type ConfigCheck,
  type HubConfig,
  type LoadConfigOptions,
  checkConfigFile,
  loadConfig,
} from './load-config.js';
export { DEFAULT_ROLES, type RoleName, type RolePermissions } from './roles-schema.js';
export { RESERVED_SERVER_NAMES, SERVER_NAME_PATTERN, checkServerName } from './server-name.js';
export {
  type RemoteServerConfig,
  type ServerConfig,
  type ServerTransport,
  type SseServerConfig,
  type StdioServerConfig,
  type StreamableHttpServerConfig,
  type WebSocketServerConfig,
  serverConfigSchema,
} from './server-schema.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INIT_TIMEOUT_MS,
  DEFAULT_STARTUP_CONCURRENCY,
  type McpSettings,
} from './settings-schema.js';
export {
  DEFAULT_SSO_SCOPES,
  ENV_SSO_PROVIDER_ID,
  SSO_PROVIDER_ID_PATTERN,
  type SsoProviderConfig,
} from './sso-schema.js';
export { type ConfigWarning } from './unused-keys.js';
export { type ConfigFileContents, validateConfigText } from './validate-config.js';
export { validateServerConfig } from './validate-server.js';
