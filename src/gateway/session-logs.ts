import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectionPool } from '../connections/index.js';
import { parseConnectionKey, type ConnectionKeyParts } from '../upstreams/index.js';
import type { DownstreamExtra } from './downstream-relay.js';
import { requestContextOf } from './request-context.js';

type LogParams = LoggingMessageNotification['params'];

/** RFC 5424 severities as MCP names them, least severe first (MCP 2025-11-25 utilities/logging). */
const SEVERITY: readonly LoggingLevel[] = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
];

/** One downstream session that may hear log messages sent outside its calls. */
interface Listener {
  readonly server: Server;
  readonly userId: string;
  readonly sessionId: string | undefined;
  /** The server of a per-server endpoint; null for the aggregated `/mcp`. */
  readonly endpointName: string | null;
  /** The level the session set with `logging/setLevel`, if it did. */
  level: LoggingLevel | undefined;
}

/**
 * Upstream log messages that arrive while no one request of their connection claims them (MCP
 * `notifications/message` sent on a timer, or after the call that caused it answered), relayed to the
 * downstream sessions entitled to them on their standalone streams:
 * - a connection bound to one session (session-upstreams.ts): that session only;
 * - a user's own connection (user-level server): that user's sessions of `/mcp`, and of that server's
 *   `/mcp/servers/:name`; never another user's;
 * - an app-level server's connection every user shares: nobody. No session can set a level on it (it is
 *   refused there), and a message on it may come from another user's call.
 * A session hears messages at or above the level it set; one that set none hears what the upstream
 * sends (MCP lets the server choose then). On `/mcp` the `logger` names the server:
 * `<server>` or `<server>__<logger>`.
 *
 * A session joins on its first request carrying its caller (the hub learns its user then), and leaves
 * when its SDK server closes. Only this instance's sessions hear this instance's connections.
 */
export class SessionLogs {
  private readonly listeners = new Map<Server, Listener>();
  readonly stop: () => void;

  constructor(pool: Pick<ConnectionPool, 'onLogMessage'>) {
    this.stop = pool.onLogMessage((key, params) => this.deliver(key, params));
  }

  /** The session of this request listens from now on (idempotent). */
  join(server: Server, extra: DownstreamExtra, endpointName: string | null): void {
    if (this.listeners.has(server)) return;
    const listener: Listener = {
      server,
      userId: requestContextOf(extra).caller.userId,
      sessionId: extra.sessionId,
      endpointName,
      level: undefined,
    };
    this.listeners.set(server, listener);
    const before = server.onclose;
    server.onclose = () => {
      this.listeners.delete(server);
      before?.();
    };
  }

  /** The session of this request set its level (`logging/setLevel`). */
  setLevel(server: Server, extra: DownstreamExtra, endpointName: string | null, level: LoggingLevel): void {
    this.join(server, extra, endpointName);
    const listener = this.listeners.get(server);
    if (listener) listener.level = level;
  }

  private deliver(key: string, params: LogParams): void {
    const parts = parseConnectionKey(key);
    if (parts === null) return;
    for (const listener of [...this.listeners.values()]) {
      if (listener.server.transport === undefined) {
        this.listeners.delete(listener.server); // closed without telling
        continue;
      }
      if (!entitled(listener, parts) || !atLevel(listener.level, params.level)) continue;
      const named = listener.endpointName === null ? withServer(parts.serverName, params) : params;
      void listener.server
        .notification({ method: 'notifications/message', params: named })
        .catch(() => undefined); // the client may have gone
    }
  }
}

/** Whether the listener may hear a message of the connection with this key (see {@link SessionLogs}). */
function entitled(listener: Listener, parts: ConnectionKeyParts): boolean {
  if (listener.endpointName !== null && listener.endpointName !== parts.serverName) return false;
  if (parts.sessionId !== null)
    return parts.sessionId === listener.sessionId && parts.sessionOwner === listener.userId;
  return parts.scope === 'user' && parts.userId === listener.userId && parts.profile === 'relay';
}

function atLevel(wanted: LoggingLevel | undefined, level: LoggingLevel): boolean {
  return wanted === undefined || SEVERITY.indexOf(level) >= SEVERITY.indexOf(wanted);
}

function withServer(serverName: string, params: LogParams): LogParams {
  const logger = params.logger === undefined ? serverName : `${serverName}__${params.logger}`;
  return { ...params, logger };
}

/** One {@link SessionLogs} per pool (one per hub instance), made on first use. */
const perPool = new WeakMap<object, SessionLogs>();

/** The session logs of this pool's connections. */
export function sessionLogsOf(pool: Pick<ConnectionPool, 'onLogMessage'>): SessionLogs {
  let logs = perPool.get(pool);
  if (logs === undefined) {
    logs = new SessionLogs(pool);
    perPool.set(pool, logs);
  }
  return logs;
}
