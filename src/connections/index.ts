export type { ConnectionOptions, ConnectionState, FetchLike, ToolProgress, UpstreamSpec } from './types.js';
export {
  ConnectionPool,
  type ConnectionPoolDeps,
  type ResourcesChangedListener,
  type StateChangeListener,
  type ToolsChangedListener,
} from './connection-pool.js';
export {
  UpstreamConnection,
  DEFAULT_CLIENT_INFO,
  type CallToolOptions,
  type CloseReason,
  type RequestCallOptions,
  type TransportHooks,
  type UpstreamConnectionInit,
} from './upstream-connection.js';
export type {
  ElicitationCompleteHandler,
  ServerRequestHandler,
  SessionChannel,
  UpstreamServerRequest,
} from './server-requests.js';
export { type BreakerSettings, DEFAULT_BREAKER } from './circuit-breaker.js';
export { type RetrySettings, DEFAULT_RETRY } from './connect-retries.js';
export {
  ProcessGroupStdioTransport,
  type SpawnFunction,
  type StdioTransportOptions,
} from './stdio-transport.js';
export { type StderrLimits } from './stderr-relay.js';
export { createTransport, type TransportDeps } from './create-transport.js';
export { INHERITED_ENV_NAMES, stdioChildEnv } from './child-env.js';
export { groupTrackingSpawn, killChildGroups, trackedChildGroups } from './child-groups.js';
