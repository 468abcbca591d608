import type { Socket } from 'node:net';
import type { ClientCapabilities, Progress } from '@modelcontextprotocol/sdk/types.js';
import type { SessionChannel } from './server-requests.js';

/**
 * A server config already resolved for one caller: placeholders expanded, credentials merged.
 * Connections never see YAML, users' variables or ACLs; the registry builds this.
 */
export type UpstreamSpec =
  | { transport: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd?: string }
  | { transport: 'sse' | 'streamable-http'; url: string; headers: Record<string, string> }
  | { transport: 'websocket'; url: string };

/** Per-server timing, from the server config (`initTimeout`, `timeout`) and the hub settings. */
export interface ConnectionOptions {
  /** Budget for one acquire: spawn or HTTP handshake, `initialize`, and the retries in between. */
  initTimeoutMs: number;
  /** Default timeout of one request; progress notifications reset it. */
  requestTimeoutMs: number;
  /** Total bound of one request that progress does not extend (`maxCallDuration`); none: unbounded. */
  maxCallDurationMs?: number;
  /** A connection with nothing in flight for this long is closed; 0 keeps it open. */
  idleTimeoutMs: number;
  /**
   * Wraps the pool's fetch (the egress guard) for this connection's HTTP requests: how per-user
   * OAuth puts the current access token on every request and refreshes on a 401.
   */
  wrapFetch?: (base: FetchLike) => FetchLike;
  /**
   * Client capabilities this connection declares (default: the pool's, normally none). A key
   * always asks with the same ones: they decide which tools an upstream offers.
   */
  capabilities?: ClientCapabilities;
  /** Binds the connection to one downstream session: its server→client requests go there. */
  session?: SessionChannel;
}

/** What the status routes show for one pool key. */
export type ConnectionState = 'connected' | 'connecting' | 'disconnected' | 'error';

/** One progress notification of a call in flight. */
export type ToolProgress = Progress;

/** `fetch` as the HTTP transports use it; the hub passes its egress guard here. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * Opens the socket of a websocket upstream (ws: TCP, wss: TLS) to an address the hub's egress guard
 * resolved and allowed; the hub passes its guard's `dialWebSocket` here.
 */
export type WebSocketDialer = (url: URL) => Promise<Socket>;
