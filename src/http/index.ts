export { installErrorHandlers, toHubError, errorBody, type ErrorKey } from './error-handler.js';
export { requireIdentity, callerOf, bearerToken } from './authenticate.js';
export { installRequestMetrics } from './metrics-hook.js';
export { authRoutes, type AuthRouteOptions } from './routes/auth-routes.js';
export { healthRoutes, type HealthRouteOptions, type ReadinessCheck } from './routes/health-routes.js';
export { mcpToolsRoutes, type McpRouteOptions } from './routes/mcp-tools-routes.js';
export { mcpConnectionRoutes } from './routes/mcp-connection-routes.js';
export { mcpAuthValuesRoutes } from './routes/mcp-auth-values-routes.js';
