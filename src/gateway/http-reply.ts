import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { jsonBody } from '../core/index.js';

/**
 * Where one HTTP answer of a downstream MCP session is written: a Node response, or memory when an
 * instance replays a stored message into a session's copy (no HTTP request exists then).
 */
export interface HttpReply {
  /** Sets the status and headers; they leave with the first write, or at {@link flush}. */
  head(status: number, headers: Readonly<Record<string, string>>): void;
  /** Sends the headers now, before any body. */
  flush(): void;
  write(body: string | Buffer): void;
  end(body?: string | Buffer): void;
  /** False once ended, or once the client has gone. */
  readonly open: boolean;
  /** Bytes written but not yet taken by the client's connection. */
  readonly backlog: number;
  /** Called at most once, when the client goes away before the answer ended. */
  onGone(listener: () => void): void;
}

/** An answer written to a Node response, strings straight to the socket (no intermediate buffers). */
export class NodeReply implements HttpReply {
  constructor(private readonly res: ServerResponse) {}

  head(status: number, headers: Readonly<Record<string, string>>): void {
    this.res.writeHead(status, headers);
  }

  flush(): void {
    this.res.flushHeaders();
  }

  write(body: string | Buffer): void {
    this.res.write(body);
  }

  end(body?: string | Buffer): void {
    if (body === undefined) this.res.end();
    else this.res.end(body);
  }

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  get backlog(): number {
    return this.res.writableLength;
  }

  onGone(listener: () => void): void {
    this.res.once('close', () => {
      if (!this.res.writableEnded) listener();
    });
  }
}

/** An answer kept in memory, for a message replayed with no HTTP request. */
export class CollectedReply implements HttpReply {
  private status = 0;
  private body = '';
  private ended = false;
  private settle: (answer: { status: number; body: string }) => void = () => undefined;
  /** Settles with the whole answer once it ends. */
  readonly done = new Promise<{ status: number; body: string }>((resolve) => (this.settle = resolve));

  head(status: number): void {
    this.status = status;
  }

  flush(): void {}

  write(body: string | Buffer): void {
    this.body += body.toString();
  }

  end(body?: string | Buffer): void {
    if (this.ended) return;
    if (body !== undefined) this.body += body.toString();
    this.ended = true;
    this.settle({ status: this.status, body: this.body });
  }

  get open(): boolean {
    return !this.ended;
  }

  readonly backlog = 0;

  onGone(): void {}
}

/** The headers of every SSE answer (no caching, no proxy buffering), plus the session's id once known. */
function eventStreamHeaders(sessionId: string | undefined): Record<string, string> {
  return {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...(sessionId === undefined ? {} : { 'mcp-session-id': sessionId }),
  };
}

/** The comment an idle SSE stream carries now and then, so that proxies and idle timers keep it. */
const KEEP_ALIVE_COMMENT = ': keepalive\n\n';
/**
 * Above this many bytes waiting for a client that does not read, its stream takes no more
 * notifications: they are dropped, not queued in the hub's memory. Responses and server→client
 * requests still go (a call's answer is never lost to a slow reader).
 */
export const MAX_NOTIFICATION_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * One server-sent-events answer (the MCP streamable HTTP transport's `text/event-stream`). Its
 * headers go out with the first event, or alone at {@link EventStream.start}; each JSON-RPC message
 * is one `message` event; while it is open a comment keeps it alive.
 */
export class EventStream {
  private started = false;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly reply: HttpReply,
    private readonly sessionId: string | undefined,
    private readonly keepAliveMs: number,
  ) {}

  get open(): boolean {
    return this.reply.open;
  }

  /** Sends the headers (now, when `flush`; else with the first event) and arms the keep-alive. */
  start(flush: boolean): void {
    if (this.started) return;
    this.started = true;
    this.reply.head(200, eventStreamHeaders(this.sessionId));
    if (flush) this.reply.flush();
    this.keepAlive = setInterval(() => {
      if (this.reply.open) this.reply.write(KEEP_ALIVE_COMMENT);
      else this.stop();
    }, this.keepAliveMs);
    this.keepAlive.unref();
  }

  /** Sends one message; false when a notification was dropped for a client that does not read. */
  send(message: JSONRPCMessage): boolean {
    this.start(false);
    if (!this.reply.open) return false;
    const notification = !('id' in message);
    if (notification && this.reply.backlog > MAX_NOTIFICATION_BACKLOG_BYTES) return false;
    this.reply.write(jsonBody(message, 'event: message\ndata: ', '\n\n'));
    return true;
  }

  /** Ends the stream (an empty one if nothing was sent). */
  end(): void {
    this.start(false);
    this.stop();
    if (this.reply.open) this.reply.end();
  }

  /** Stops the keep-alive (the client has gone). */
  stop(): void {
    clearInterval(this.keepAlive);
  }
}
