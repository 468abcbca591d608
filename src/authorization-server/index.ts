// The hub's own authorization server: the public face other folders import from.
export { AuthorizationServer, type AuthorizationServerOptions } from './authorization-server.js';
export type { ConnectedApp } from './connected-apps.js';
export type { InteractionSession, SessionLookup } from './interaction-routes.js';
export { ACCESS_TOKEN_TTL_SECONDS, REFRESH_TOKEN_TTL_SECONDS } from './provider.js';
export { MCP_SCOPE, mcpResource, serverResource } from './resources.js';
