import { systemClock, type Clock } from '../core/index.js';
import {
  UpstreamConnection,
  createTransport,
  type FetchLike,
  type UpstreamSpec,
} from '../connections/index.js';
import { isHubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';

/** The resolved spec of a user-created server: always a remote one. */
export type RemoteSpec = Extract<UpstreamSpec, { transport: 'sse' | 'streamable-http' }>;

/** What connecting once to a server found. */
export type InspectionResult =
  | { status: 'connected'; toolCount: number }
  /** The server answered 401; `oauthChallenge` when with a `WWW-Authenticate` header (MCP authorization). */
  | { status: 'unauthorized'; oauthChallenge: boolean };

/**
 * Connects once to a server, lists its tools and disconnects. Resolves for a server that answered
 * (tools, or a 401); rejects with the connection's HubError otherwise: `HUB_ERR_EGRESS_DENIED` for a
 * destination the egress guard refuses, `HUB_ERR_UPSTREAM_*` for the rest.
 */
export type ServerInspector = (spec: RemoteSpec, timeoutMs: number) => Promise<InspectionResult>;

/** What {@link createServerInspector} is built from. */
export interface ServerInspectorDeps {
  /** The egress guard's fetch: the only way out of the hub. */
  fetch: FetchLike;
  logger: Logger;
  clock?: Clock;
}

function upstreamStatus(error: unknown): number | undefined {
  const status = isHubError(error) ? error.details?.upstreamStatus : undefined;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The hub's inspector: a one-shot {@link UpstreamConnection} over the given fetch, outside the
 * connection pool, so an inspection never leaves a connection, a breaker state or a cached tool
 * list behind.
 */
export function createServerInspector(deps: ServerInspectorDeps): ServerInspector {
  const clock = deps.clock ?? systemClock;
  return async (spec, timeoutMs) => {
    const logger = deps.logger.child({ inspection: true });
    let challenged = false;
    let unauthorized = false;
    // The SDK reports a 401 as a status only; the challenge header is read here, on the way past.
    const observed: FetchLike = async (url, init) => {
      const response = await deps.fetch(url, init);
      if (response.status === 401) {
        unauthorized = true;
        if (response.headers.has('www-authenticate')) challenged = true;
      }
      return response;
    };
    let connection: UpstreamConnection;
    try {
      connection = await UpstreamConnection.open(
        {
          makeTransport: (hooks) =>
            createTransport(spec, { logger, clock, fetch: observed, hostEnv: {} }, hooks),
          requestTimeoutMs: timeoutMs,
          logger,
        },
        timeoutMs,
      );
    } catch (error) {
      if (unauthorized || upstreamStatus(error) === 401)
        return { status: 'unauthorized', oauthChallenge: challenged };
      throw error;
    }
    try {
      const tools = await connection.listTools({ timeoutMs });
      return { status: 'connected', toolCount: tools.length };
    } finally {
      await connection.close();
    }
  };
}
