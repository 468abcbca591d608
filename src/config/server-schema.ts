import { z } from 'zod';
import {
  envRecord,
  hasScheme,
  headerRecord,
  httpUrl,
  milliseconds,
  nonEmpty,
  wsUrl,
} from './schema-primitives.js';
import { checkStdioPolicy } from './stdio-policy.js';

/**
 * LibreChat's pre-registered OAuth client settings (`oauth:` in a server entry), field names unchanged.
 * Everything is optional: discovery (RFC 8414 / RFC 9728) and dynamic registration (RFC 7591) fill gaps.
 */
const oauthSchema = z.strictObject({
  authorization_url: httpUrl().optional(),
  token_url: httpUrl().optional(),
  client_id: nonEmpty().optional(),
  client_secret: z.string().optional(),
  /** Space-separated, as sent in the `scope` parameter (RFC 6749 §3.3). */
  scope: z.string().optional(),
  redirect_uri: httpUrl().optional(),
  token_exchange_method: z.enum(['default_post', 'basic_auth_header']).optional(),
  grant_types_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  response_types_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  skip_code_challenge_check: z.boolean().optional(),
  revocation_endpoint: httpUrl().optional(),
  revocation_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  /** Auth0-style `audience` on the authorization request, for servers that predate RFC 8707. */
  audience: nonEmpty().optional(),
  /** Whether `audience` is sent again on refresh (LibreChat's default: yes). */
  forward_audience_on_refresh: z.boolean().optional(),
  /** Whether the RFC 8707 `resource` parameter is sent (LibreChat's default: yes). */
  send_resource_parameter: z.boolean().optional(),
});

/** LibreChat's API-key authentication: one admin key for all, or one per user (kept as a user variable). */
const apiKeySchema = z
  .strictObject({
    key: z.string().optional(),
    source: z.enum(['admin', 'user']),
    authorization_type: z.enum(['basic', 'bearer', 'custom']),
    custom_header: z.string().optional(),
  })
  .superRefine((value, ctx) => {
    // Without a header name a 'custom' key has nowhere to go, and would silently never be sent.
    if (value.authorization_type === 'custom' && (value.custom_header ?? '') === '') {
      ctx.addIssue({
        code: 'custom',
        path: ['custom_header'],
        message: "is required when authorization_type is 'custom'",
      });
    }
  });

/**
 * Names usable as `{{NAME}}` placeholders in headers, args, env and URLs: the same shape as environment
 * variable names, so placeholder matching stays a simple pattern.
 */
const USER_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Values each user supplies for a server (tokens, account ids), shown in the UI with a title and description. */
const customUserVarsSchema = z.record(
  z.string().regex(USER_VAR_NAME, { message: "must be letters, digits and '_', not starting with a digit" }),
  z.strictObject({
    title: z.string(),
    description: z.string(),
    /** false: a plain setting (a user name, a project key) a form may show as text; absent means secret. */
    sensitive: z.boolean().optional(),
  }),
);

/** Switchboard's own addition: who may see an admin-defined server (no `access` = every user with USE). */
const accessSchema = z.strictObject({
  roles: z.array(z.enum(['USER', 'ADMIN'])).optional(),
  /** User ids or e-mail addresses. */
  users: z.array(nonEmpty()).optional(),
});

/** Fields every transport accepts: LibreChat's `BaseOptionsSchema`, plus `idleTimeout` and `access`. */
const commonShape = {
  title: nonEmpty().optional(),
  description: z.string().optional(),
  /** false: never connected at start or as an app-level connection; each user connects on demand. */
  startup: z.boolean().optional(),
  iconPath: z.string().optional(),
  /** Per-request timeout for tool calls, ms. */
  timeout: milliseconds().optional(),
  /** Timeout for connecting and initialising, ms. */
  initTimeout: milliseconds().optional(),
  /** Switchboard: total bound of one call that progress does not extend, ms; overrides `mcpSettings.maxCallDuration`. */
  maxCallDuration: milliseconds().min(1).optional(),
  /** LibreChat: how long one replica waits for another's token refresh, ms (positive, as there). */
  oauthRefreshWaitTimeout: milliseconds().min(1).optional(),
  /** LibreChat: a protocol switch between its replicas' OAuth writers. */
  oauthRefreshCoordination: z.boolean().optional(),
  /** LibreChat: how long a callback waits for its tokens to be stored and published, ms. */
  oauthPersistenceWaitTimeout: milliseconds().optional(),
  /** How long the long-lived SSE GET stream may stay silent, ms. */
  sseReadTimeout: milliseconds().min(1).optional(),
  chatMenu: z.boolean().optional(),
  /** true: use the server's own instructions; a string: use this text instead. */
  serverInstructions: z.union([z.boolean(), z.string()]).optional(),
  requiresOAuth: z.boolean().optional(),
  /**
   * Switchboard: one OAuth authorization, done once by an admin, used by every user's calls through a
   * shared connection (LibreChat's `system` flows). Without it each user authorizes for themselves.
   */
  sharedOAuth: z.boolean().optional(),
  oauth: oauthSchema.optional(),
  /** Extra headers on OAuth requests (discovery, registration, token). */
  oauth_headers: headerRecord().optional(),
  apiKey: apiKeySchema.optional(),
  customUserVars: customUserVarsSchema.optional(),
  /** Overrides `mcpSettings.idleTimeout` for this server's connections, ms. */
  idleTimeout: milliseconds().optional(),
  access: accessSchema.optional(),
};

/** A server run as a child process. Only admins define these (in YAML); the API refuses them. */
export const stdioServerSchema = z
  .strictObject({
    ...commonShape,
    type: z.literal('stdio'),
    command: nonEmpty(),
    args: z.array(z.string()).default([]),
    env: envRecord().optional(),
    stderr: z.enum(['pipe', 'ignore', 'inherit']).optional(),
    cwd: nonEmpty().optional(),
  })
  .superRefine(checkStdioPolicy);

/** Fields LibreChat accepts on its two HTTP transports only. */
const httpShape = {
  url: httpUrl(),
  headers: headerRecord().optional(),
  /** LibreChat: headers filled from the chat request that caused the call, merged over `headers`. */
  requestHeaders: headerRecord().optional(),
  /** LibreChat: an outbound proxy for this server. Never a way around the egress guard. */
  proxy: httpUrl().optional(),
  /** LibreChat: On-Behalf-Of token exchange of the user's OpenID login token. */
  obo: z.strictObject({ scopes: nonEmpty() }).optional(),
};

/** A server reached over the legacy HTTP+SSE transport. */
export const sseServerSchema = z.strictObject({
  ...commonShape,
  ...httpShape,
  type: z.literal('sse'),
});

/** A server reached over streamable HTTP; LibreChat's alias `type: http` is normalised to this. */
export const streamableHttpServerSchema = z.strictObject({
  ...commonShape,
  ...httpShape,
  type: z.literal('streamable-http'),
});

/** A server reached over LibreChat's websocket transport; as in LibreChat, it takes no headers. */
export const webSocketServerSchema = z.strictObject({
  ...commonShape,
  type: z.literal('websocket'),
  url: wsUrl(),
});

const TYPE_WORDS = "'stdio', 'sse', 'streamable-http', 'http' or 'websocket'";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Fills in `type` the way LibreChat's union of schemas ends up choosing it: `command` means stdio; a
 * lone `url` means websocket for ws(s) URLs and SSE otherwise. `http` becomes `streamable-http`, so the
 * rest of the hub sees one name per transport.
 */
function withTransportType(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  if (input.type === 'http') return { ...input, type: 'streamable-http' };
  if (input.type !== undefined) return input;
  if (input.command !== undefined) return { ...input, type: 'stdio' };
  if (typeof input.url === 'string') {
    return { ...input, type: hasScheme(input.url, ['ws:', 'wss:']) ? 'websocket' : 'sse' };
  }
  return input;
}

/**
 * One MCP server entry, in LibreChat's `mcpServers` format. This schema never expands `${VAR}`: the
 * admin YAML is expanded before validation (see `expandEnvReferences`), user-created servers never are.
 */
export const serverConfigSchema = z.preprocess(
  withTransportType,
  z.discriminatedUnion(
    'type',
    [stdioServerSchema, sseServerSchema, streamableHttpServerSchema, webSocketServerSchema],
    {
      error: (issue) => {
        if (issue.code !== 'invalid_union') return undefined;
        const hasType = isPlainObject(issue.input) && issue.input.type !== undefined;
        return hasType
          ? `must be one of ${TYPE_WORDS}`
          : "is missing: give 'command' for a stdio server, 'url' for a remote one, or an explicit 'type'";
      },
    },
  ),
);

/** A validated server entry: a union discriminated by `type` (`http` already normalised to `streamable-http`). */
export type ServerConfig = z.output<typeof serverConfigSchema>;
/** A stdio (child process) server entry. */
export type StdioServerConfig = z.output<typeof stdioServerSchema>;
/** An SSE server entry. */
export type SseServerConfig = z.output<typeof sseServerSchema>;
/** A streamable-HTTP server entry. */
export type StreamableHttpServerConfig = z.output<typeof streamableHttpServerSchema>;
/** A websocket server entry. */
export type WebSocketServerConfig = z.output<typeof webSocketServerSchema>;
/** Any server reached over the network rather than spawned. */
export type RemoteServerConfig = SseServerConfig | StreamableHttpServerConfig | WebSocketServerConfig;
/** The transport names a validated {@link ServerConfig} can carry. */
export type ServerTransport = ServerConfig['type'];
