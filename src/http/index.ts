export { installErrorHandlers, toHubError, errorBody, type ErrorKey } from './error-handler.js';
export { requireIdentity, callerOf, bearerToken, CSRF_HEADER } from './authenticate.js';
export { installRequestMetrics } from './metrics-hook.js';
export { installSecurityHeaders } from './security-headers.js';
export { installLargeBodyEncoding } from './large-bodies.js';
export { OneLineRequestLog, lazyChildLogger } from './request-log.js';
export { authRoutes, type AuthRouteOptions } from './routes/auth-routes.js';
export { sessionRoutes, type SessionRouteOptions } from './routes/session-routes.js';
export { signInRoutes, type SignInRouteOptions } from './routes/sign-in-routes.js';
export { signOutForm, type SignInProvider } from './routes/sign-in-pages.js';
export { healthRoutes, type HealthRouteOptions, type ReadinessCheck } from './routes/health-routes.js';
export { mcpToolsRoutes, type McpRouteOptions } from './routes/mcp-tools-routes.js';
export { mcpContentRoutes } from './routes/mcp-content-routes.js';
export { mcpConnectionRoutes } from './routes/mcp-connection-routes.js';
export { mcpAuthValuesRoutes } from './routes/mcp-auth-values-routes.js';
export { createOAuthCookies, type OAuthCookies, type OAuthCookieSettings } from './oauth-cookies.js';
export { oauthPages, escapeHtml, page } from './routes/oauth-pages.js';
export { webAppRoutes, type WebAppRouteOptions } from './routes/web-app-routes.js';
export { installPageErrors } from './routes/page-errors.js';
export { oauthLinkRoutes, type OAuthLinkRouteOptions } from './routes/oauth-link-routes.js';
export { oauthRoutes } from './routes/oauth-routes.js';
export { oauthCallbackRoute, oauthCallbackUrl } from './routes/oauth-callback-route.js';
export { clientMetadataRoute, type ClientMetadataRouteOptions } from './routes/client-metadata-route.js';
export { serversRoutes, serverViewSchema, type ServersRouteOptions } from './routes/servers-routes.js';
export { permissionsRoutes, type PermissionsRouteOptions } from './routes/permissions-routes.js';
export {
  accessPermissionsRoutes,
  type AccessPermissionsRouteOptions,
} from './routes/access-permissions-routes.js';
export { adminRoutes, type AdminRouteOptions } from './routes/admin-routes.js';
export { libreChatConfigRoutes, type LibreChatConfigRouteOptions } from './routes/librechat-config-routes.js';
export { rolesRoutes, type RolesRouteOptions } from './routes/roles-routes.js';
export { userPluginsRoutes } from './routes/user-plugins-routes.js';
