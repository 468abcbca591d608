import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { AccountsService } from './accounts/index.js';
import type { IdentityService, RolePermissionTable } from './auth/index.js';
import {
  authRoutes,
  sessionRoutes,
  signInRoutes,
  healthRoutes,
  installErrorHandlers,
  installRequestMetrics,
  installSecurityHeaders,
  installLargeBodyEncoding,
  OneLineRequestLog,
  lazyChildLogger,
  mcpAuthValuesRoutes,
  libreChatConfigRoutes,
  rolesRoutes,
  userPluginsRoutes,
  mcpConnectionRoutes,
  mcpToolsRoutes,
  mcpContentRoutes,
  oauthCallbackRoute,
  oauthLinkRoutes,
  oauthPages,
  oauthRoutes,
  adminRoutes,
  permissionsRoutes,
  accessPermissionsRoutes,
  serversRoutes,
  clientMetadataRoute,
  webAppRoutes,
  type ClientMetadataRouteOptions,
  type McpRouteOptions,
  type ReadinessCheck,
} from './http/index.js';
import { gatewayRoutes, type GatewayOptions } from './gateway/index.js';
import type { AuditLog, ServersService, SharingService } from './servers/index.js';
import type { Logger, Metrics } from './observability/index.js';
import type { BrowserSessions } from './sessions/index.js';
import type { ServerHealthService } from './upstreams/index.js';
import { ssoRoutes, type SsoRouteOptions } from './sso/index.js';
import { DEFAULT_RATE_LIMITS, installRateLimits, type RateLimitConfig } from './http/rate-limits.js';
import {
  applyServerLimits,
  DEFAULT_HTTP_SERVER_LIMITS,
  httpServerOptions,
  type HttpServerLimits,
} from './http/server-limits.js';
import { installClosingRefusal } from './http/closing-refusal.js';

/** Everything the HTTP app needs, built and passed in by the caller. */
export interface AppDeps {
  logger: Logger;
  metrics: Metrics;
  identity: IdentityService;
  /** Browser sessions: the REST API accepts one beside a bearer token; none means bearer only. */
  sessions?: BrowserSessions | undefined;
  /** Single-sign-on providers the sign-in page offers (id and button name), in order. */
  ssoProviders?: readonly { id: string; name: string }[] | undefined;
  /** Single sign-on: `/auth/sso/:id/start`, its callback and `GET /api/auth/providers`. */
  sso?: SsoRouteOptions | undefined;
  /** The hub's own authorization server (its endpoints, interaction pages and connected-apps API). */
  authorizationServer?: FastifyPluginAsync | undefined;
  /** Role permissions as configured, behind LibreChat's role routes. */
  roles: RolePermissionTable;
  /** Account administration behind `/api/admin/users`. */
  accounts: AccountsService;
  /** Every server's health behind `/api/admin/servers/health`; without it that route is absent. */
  serverHealth?: ServerHealthService | undefined;
  /** The services behind `/api/mcp`. */
  mcp: Omit<McpRouteOptions, 'identity'> & {
    /** Called once a callback stored a user's tokens: reconnect and refresh their catalog. */
    onAuthorized: (userId: string, serverName: string) => Promise<void>;
  };
  /** Serves the OAuth client metadata document (CIMD) when one is configured under PUBLIC_URL. */
  clientMetadata?: ClientMetadataRouteOptions | undefined;
  /** User-managed servers, sharing and the audit log. */
  servers: { servers: ServersService; sharing: SharingService; audit: AuditLog };
  /** The aggregated and per-server MCP endpoints. */
  gateway: Omit<GatewayOptions, 'identity'>;
  readiness: ReadinessCheck[];
  settings: {
    /** Largest accepted request body in bytes. */
    bodyLimit: number;
    /** Trust X-Forwarded-* from a reverse proxy. */
    trustProxy: boolean;
    /** Secret for signed cookies. */
    cookieSecret: string;
    /** Login attempts per client address per minute (default 10). */
    loginAttemptsPerMinute?: number;
    /** Per-route request limits and, with Redis, where their counts are shared; default: defaults in memory. */
    rateLimits?: RateLimitConfig | undefined;
    /** Slow-client limits of the HTTP server; each unset one takes its default. */
    httpLimits?: Partial<HttpServerLimits> | undefined;
  };
}

/**
 * JSON bodies as Fastify parses them (prototype and constructor poisoning still refused), except that an
 * empty body reads as no body: Node clients such as axios send `Content-Type: application/json` with
 * nothing after it on POSTs that carry no data (reinitialize, bind, refresh). A route that needs a body
 * still refuses the missing one through its schema; a non-empty body that is not JSON is still a 400.
 */
function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (request, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    // parseAs 'string' hands over a string; the parser's type also admits a Buffer.
    void parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });
}

/** Builds the Fastify app with every route and plugin wired; never listens (tests use `inject`). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_HTTP_SERVER_LIMITS, ...deps.settings.httpLimits };
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; widening keeps the instance type Fastify's default.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- needed for the return type
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.settings.bodyLimit,
    trustProxy: deps.settings.trustProxy,
    genReqId: () => randomUUID(),
    logController: new OneLineRequestLog(),
    childLoggerFactory: lazyChildLogger,
    // Requests arriving while the app closes are refused by installClosingRefusal, with a code.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 256 },
    // Fastify sets these two on the server itself; the rest go to http.createServer.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: httpServerOptions(limits),
  });
  applyServerLimits(app.server, limits);
  installJsonParser(app, deps.settings.bodyLimit);
  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('identity', null);
  app.decorate('browserSessions', deps.sessions ?? null);

  installErrorHandlers(app);
  installRequestMetrics(app, deps.metrics);

  installSecurityHeaders(app);
  installLargeBodyEncoding(app);
  // First of the onRequest hooks that do work: a refused request runs no authentication or limit.
  installClosingRefusal(app);
  await app.register(cookie, { secret: deps.settings.cookieSecret });
  await installRateLimits(app, deps.settings.rateLimits ?? { limits: DEFAULT_RATE_LIMITS });
  await app.register(swagger, {
    openapi: { info: { title: 'Switchboard', version: '0.1.0' } },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(healthRoutes, { metrics: deps.metrics, checks: deps.readiness });
  const loginAttemptsPerMinute = deps.settings.loginAttemptsPerMinute ?? 10;
  await app.register(authRoutes, { identity: deps.identity, loginAttemptsPerMinute });
  if (deps.sessions) {
    const signIn = { identity: deps.identity, sessions: deps.sessions, publicUrl: deps.mcp.publicUrl };
    await app.register(sessionRoutes, { ...signIn, loginAttemptsPerMinute });
    await app.register(signInRoutes, { ...signIn, loginAttemptsPerMinute, ssoProviders: deps.ssoProviders });
  }
  if (deps.sso) await app.register(ssoRoutes, deps.sso);
  const mcp = { identity: deps.identity, ...deps.mcp };
  await app.register(mcpToolsRoutes, mcp);
  await app.register(mcpContentRoutes, mcp);
  await app.register(mcpConnectionRoutes, mcp);
  await app.register(mcpAuthValuesRoutes, mcp);
  await app.register(userPluginsRoutes, mcp);
  await app.register(libreChatConfigRoutes, {
    identity: deps.identity,
    registry: deps.mcp.registry,
    publicUrl: deps.mcp.publicUrl,
  });
  await app.register(rolesRoutes, { identity: deps.identity, roles: deps.roles });
  await app.register(oauthRoutes, mcp);
  await app.register(oauthCallbackRoute, mcp);
  await app.register(oauthPages);
  await app.register(oauthLinkRoutes, mcp);
  if (deps.clientMetadata) await app.register(clientMetadataRoute, deps.clientMetadata);
  await app.register(serversRoutes, { identity: deps.identity, servers: deps.servers.servers });
  await app.register(permissionsRoutes, { identity: deps.identity, sharing: deps.servers.sharing });
  await app.register(accessPermissionsRoutes, { identity: deps.identity, sharing: deps.servers.sharing });
  await app.register(adminRoutes, {
    identity: deps.identity,
    audit: deps.servers.audit,
    accounts: deps.accounts,
    health: deps.serverHealth,
  });
  if (deps.authorizationServer) await app.register(deps.authorizationServer);
  await app.register(gatewayRoutes, { identity: deps.identity, ...deps.gateway });
  // Last: its catch-all GET only answers paths no other route claims.
  await app.register(webAppRoutes);
  return app;
}
