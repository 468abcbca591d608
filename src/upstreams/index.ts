export {
  createUpstreamService,
  type UpstreamService,
  type ServerStatus,
  type CallerConnection,
  type SessionBinding,
  type ConnectFailure,
  type ConnectionCounts,
  type SharedAuthorization,
} from './upstream-service.js';
export {
  createServerHealthService,
  type ServerHealth,
  type ServerHealthReport,
  type ServerHealthService,
} from './server-health.js';
export {
  allProfileKeys,
  connectionKeyFor,
  isKeyOfServer,
  parseConnectionKey,
  sessionConnectionKey,
  type ConnectionKeyParts,
  type ConnectionProfile,
  type ConnectionScope,
} from './connection-keys.js';
export { type SessionCapReached } from './session-caps.js';
export { connectAtStartup, type StartupConnector } from './startup.js';
export {
  createAuthorizationStarter,
  mayActFor,
  type AuthorizationStarter,
  type BrowserLinkRedemption,
  type BrowserLinkRefusal,
  type BrowserLinkTicket,
  type StartedAuthorization,
} from './authorization.js';
export { createReconnector, type Reconnector } from './reconnector.js';
export {
  FORWARDABLE_REQUEST_HEADERS,
  forwardableHeaders,
  withCallHeaders,
  type CallHeaders,
} from './call-headers.js';
export {
  SERVER_CHANGES_CHANNEL,
  parseServerChange,
  publishServerChange,
  watchServerChanges,
  type ServerChange,
  type ServerChangeKind,
} from './server-changes.js';
export { LearnedOAuth, LEARNED_OAUTH_CHANNEL, serverIdentity } from './learned-oauth.js';
