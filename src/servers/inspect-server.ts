import type { Identity } from '../auth/index.js';
import type { McpSettings } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { HubError, isHubError, type HubErrorCode, type Result } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { resolveServer } from '../registry/index.js';
import type { ServerInspector } from './inspector.js';
import type { Inspection } from './stored-server.js';
import type { UserServerConfig } from './user-input.js';

/** Checks a URL against the egress policy without connecting (the egress guard's `checkUrl`). */
export type UrlCheck = (url: string) => Promise<Result<URL>>;

/** What {@link inspectServer} needs. */
export interface InspectDeps {
  inspect: ServerInspector;
  /** Refuses a denied destination before any socket opens; without it, the inspection's fetch does. */
  checkUrl?: UrlCheck | undefined;
  settings: Pick<McpSettings, 'initTimeout'>;
  /** Upper bound of one inspection; the server's init timeout is used when shorter. */
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * The 403 for a destination the egress guard refuses: `{error:'MCP_DOMAIN_NOT_ALLOWED',
 * message}`, as LibreChat answers. The guard's message names the host as written, never an address.
 */
function domainNotAllowed(message: string): HubError {
  return new HubError('HUB_ERR_MCP_DOMAIN_NOT_ALLOWED', {
    message,
    details: { error: 'MCP_DOMAIN_NOT_ALLOWED' },
  });
}

function inspectionFailed(message: string, reason?: HubErrorCode, upstreamStatus?: number): HubError {
  return new HubError('HUB_ERR_MCP_INSPECTION_FAILED', {
    message,
    details: {
      error: 'MCP_INSPECTION_FAILED',
      ...(reason === undefined ? {} : { reason }),
      ...(upstreamStatus === undefined ? {} : { upstreamStatus }),
    },
  });
}

/** Every URL the hub would send requests to for this server. */
function destinations(config: UserServerConfig): string[] {
  const oauth = config.oauth;
  return [config.url, oauth?.authorization_url, oauth?.token_url, oauth?.revocation_endpoint].filter(
    (url): url is string => url !== undefined,
  );
}

/** The first HubError in a cause chain (the egress guard's refusal may sit under a transport error). */
function hubErrorIn(error: unknown): HubError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (isHubError(current)) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * Connects once to a server a user is saving: records whether it requires OAuth and how
 * many tools it has. A refused destination is a 403 `MCP_DOMAIN_NOT_ALLOWED`; anything else that
 * keeps the hub from talking MCP with it is a 400 `MCP_INSPECTION_FAILED` that names a reason code,
 * never the upstream's own words.
 */
export async function inspectServer(
  deps: InspectDeps,
  config: UserServerConfig,
  caller: Identity,
): Promise<Inspection> {
  for (const url of destinations(config)) {
    const checked = await deps.checkUrl?.(url);
    if (checked === undefined || checked.ok) continue;
    // Fail closed either way; only a refusal by policy is reported as one.
    if (checked.code === 'HUB_ERR_EGRESS_DENIED') throw domainNotAllowed(checked.message);
    throw inspectionFailed('Could not check the MCP server address', checked.code);
  }
  // The same resolution the caller's connection will use, so what is inspected is what connects.
  const { spec, options } = resolveServer(
    config,
    { userId: caller.userId, email: caller.email, userVars: {} },
    { ...deps.settings, idleTimeout: 0, startupConcurrency: 1 },
  );
  if (spec.transport !== 'sse' && spec.transport !== 'streamable-http') {
    throw inspectionFailed('Only remote servers can be inspected');
  }
  const timeoutMs = Math.min(options.initTimeoutMs, deps.timeoutMs);
  let result;
  try {
    result = await deps.inspect(spec, timeoutMs);
  } catch (error) {
    const hubError = hubErrorIn(error);
    if (hubError?.code === 'HUB_ERR_EGRESS_DENIED') throw domainNotAllowed(hubError.message);
    const status = hubError?.details?.upstreamStatus;
    deps.logger.info(
      { err: error, errorCode: hubError?.code, upstreamStatus: status },
      'MCP server inspection failed',
    );
    throw inspectionFailed(
      hubError?.code === 'HUB_ERR_UPSTREAM_TIMEOUT'
        ? 'The MCP server did not answer in time'
        : 'Could not connect to the MCP server to inspect it',
      hubError?.code ?? 'HUB_ERR_UPSTREAM_UNAVAILABLE',
      typeof status === 'number' ? status : undefined,
    );
  }
  const inspectedAt = deps.clock.now();
  if (result.status === 'connected')
    return { requiresOAuth: false, toolCount: result.toolCount, inspectedAt };
  if (result.oauthChallenge) return { requiresOAuth: true, toolCount: null, inspectedAt };
  // A 401 without a challenge is expected when each user brings their own key.
  if (config.apiKey?.source === 'user') return { requiresOAuth: false, toolCount: null, inspectedAt };
  throw inspectionFailed(
    'The MCP server refused the credentials (HTTP 401)',
    'HUB_ERR_UPSTREAM_UNAVAILABLE',
    401,
  );
}
