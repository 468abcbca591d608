import type { IncomingMessage } from 'node:http';
import { type Socket, isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { parseJsonRpcMessage } from '../core/index.js';
import WebSocket from 'ws';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { CappedSocket } from './capped-socket.js';
import { idFromEnds, resultTooLargeResponse } from './result-limit.js';
import type { WebSocketDialer } from './types.js';
import { UnansweredRequests } from './unanswered-requests.js';
import { PermanentConnectError } from './upstream-errors.js';
import { WebSocketMessageCap } from './websocket-message-cap.js';

/** The subprotocol MCP clients ask for on a websocket (the MCP SDK's and LibreChat's client). */
export const MCP_SUBPROTOCOL = 'mcp';

/** Longest wait for the opening handshake's answer once the socket is open. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Longest wait for the server's close frame after ours, before the socket is cut. */
const CLOSE_TIMEOUT_MS = 2_000;
/**
 * ws's error for a message past `maxPayload`, which it refuses from the frame header by closing the
 * connection: only reached when the cap in front of it stood aside (a frame it did not expect).
 */
const PAYLOAD_TOO_LARGE = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

/** What a {@link GuardedWebSocketTransport} is built from. */
export interface WebSocketTransportOptions {
  url: URL;
  /** The largest message taken from the server (`maxResultBytes`); a larger one fails its request. */
  maxMessageBytes: number;
  /**
   * Opens the socket (the hub's egress guard, which resolves, checks and pins the address); ws
   * never resolves the name itself then. Default: a direct connection, unguarded (tests of the pool).
   */
  dial?: WebSocketDialer;
  /** Hears of an error that ends an open connection, before `onclose`. */
  onFault?: (error: Error) => void;
  logger: Logger;
}

/**
 * An MCP client transport over a websocket (the `ws` package: Node 20 has no WebSocket client),
 * one JSON-RPC message per text frame, as the MCP SDK's own websocket client sends them. The
 * socket comes from `dial`, redirects are refused (a hop would leave the guard), and no
 * compression is offered. A message past `maxMessageBytes` never reaches ws: the cap in front of
 * it drops the message as it streams by and the request it answered fails with
 * HUB_ERR_RESULT_TOO_LARGE (its id read from the message's ends, else the one request waiting),
 * while the connection and its other calls go on.
 */
export class GuardedWebSocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private socket: WebSocket | undefined;
  private started = false;
  private closing = false;
  private closedSeen = false;
  private readonly unanswered = new UnansweredRequests();

  constructor(private readonly options: WebSocketTransportOptions) {}

  async start(): Promise<void> {
    if (this.started) throw new Error('GuardedWebSocketTransport already started');
    this.started = true;
    const raw = await (this.options.dial ?? directDial)(this.options.url);
    if (this.closing) {
      raw.destroy();
      throw new Error('websocket transport closed while connecting');
    }
    const cap = new WebSocketMessageCap(this.options.maxMessageBytes, (head, tail) =>
      this.onOversized(head, tail),
    );
    // ws takes any duplex stream as its socket; its type names net.Socket only.
    const capped = new CappedSocket(raw, cap) as unknown as Socket;
    const socket = new WebSocket(this.options.url, MCP_SUBPROTOCOL, {
      maxPayload: this.options.maxMessageBytes,
      perMessageDeflate: false,
      followRedirects: false,
      // One message per tick: the SDK handles a notification a microtask late but a response at
      // once, so progress arriving in one chunk with its result would otherwise come too late.
      allowSynchronousEvents: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      createConnection: () => capped,
    });
    this.socket = socket;
    await this.watch(socket);
  }

  send(message: JSONRPCMessage): Promise<void> {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return Promise.reject(new Error('Not connected'));
    this.unanswered.sent(message);
    return new Promise((resolve, reject) => {
      socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) {
      this.closed();
      return;
    }
    const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.close(1000);
    // A server that never answers our close frame is cut off rather than waited for (ws waits 30 s).
    const cutOff = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
    try {
      await done;
    } finally {
      clearTimeout(cutOff);
    }
  }

  /**
   * Listens to the socket from the start (a message may follow the handshake at once) and settles
   * with the opening handshake; from then on errors are faults and `close` ends the connection.
   */
  private watch(socket: WebSocket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let open = false;
      let refusal: Error | undefined;
      socket.on('message', (data) => this.receive(data));
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        refusal = handshakeRefusal(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('open', () => {
        open = true;
        resolve();
      });
      socket.on('error', (error) => {
        if (open) this.fault(error);
        else reject(refusal ?? error);
      });
      socket.once('close', () => {
        if (!open) reject(refusal ?? new Error('websocket closed during the opening handshake'));
        this.closed();
      });
    });
  }

  private receive(data: WebSocket.RawData): void {
    let message: JSONRPCMessage;
    try {
      message = parseJsonRpcMessage(JSON.parse(textOf(data)));
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error('invalid JSON-RPC message'));
      return;
    }
    this.unanswered.received(message);
    this.onmessage?.(message);
  }

  /**
   * A message past the limit was left out: the request it answered fails with an error response
   * in its place. Its id is read from the message's ends; failing that, a lone unanswered request
   * is the one. Otherwise nothing can be told, and the call concerned ends at its timeout.
   */
  private onOversized(head: string, tail: string): void {
    const maxBytes = this.options.maxMessageBytes;
    const read = idFromEnds(head, tail);
    const id =
      read === undefined ? this.unanswered.takeOnly() : this.unanswered.take(read) ? read : undefined;
    this.options.logger.warn(
      { maxResultBytes: maxBytes, failedRequest: id !== undefined },
      id === undefined
        ? 'websocket upstream sent an oversized message that answers no known request; dropped it'
        : 'websocket upstream result too large; failing its request',
    );
    if (id !== undefined) this.onmessage?.(resultTooLargeResponse({ maxBytes, id }));
  }

  /** ws closes the connection after any error it reports. */
  private fault(error: Error): void {
    if ((error as NodeJS.ErrnoException).code === PAYLOAD_TOO_LARGE) {
      this.options.logger.warn(
        { maxResultBytes: this.options.maxMessageBytes },
        'websocket upstream sent a message past maxResultBytes; closing the connection',
      );
    }
    this.onerror?.(error);
    if (!this.closing) this.options.onFault?.(error);
  }

  private closed(): void {
    if (this.closedSeen) return;
    this.closedSeen = true;
    this.onclose?.();
  }
}

/** Why the server's answer to the opening handshake was not `101 Switching Protocols`. */
function handshakeRefusal(status: number): Error {
  if (status >= 300 && status < 400) {
    // The guard checked this host only; a hop elsewhere would go unchecked (SS-08).
    return new HubError('HUB_ERR_EGRESS_FAILED', {
      message: `Upstream redirect (HTTP ${status}) not followed: websocket redirects never are`,
    });
  }
  const text = `the MCP server answered the websocket handshake with HTTP ${status}`;
  // A refusal (wrong path, no access) will not change on a retry; a 5xx or a 429 may.
  return status >= 400 && status < 500 && status !== 408 && status !== 429
    ? new PermanentConnectError(text)
    : new Error(text);
}

/** MCP sends text frames; a binary one is read as UTF-8 JSON-RPC all the same. */
function textOf(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** A plain TCP or TLS connection to the URL's host, for a transport built without the guard. */
function directDial(url: URL): Promise<Socket> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const secure = url.protocol === 'wss:';
  const port = Number(url.port || (secure ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}) }, () => resolve(socket))
      : netConnect({ host, port }, () => resolve(socket));
    socket.once('error', reject);
  });
}
