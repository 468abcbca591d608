import type { Server, ServerOptions } from 'node:http';

/**
 * What the HTTP server allows a client, against slow or idle clients holding sockets and memory.
 * Each bounds only the arriving request or the time between requests, never a response: a
 * `/mcp` GET stream or a streamed tool call may stay open as long as it lives (a socket
 * inactivity timeout would cut a quiet stream, so none is set).
 */
export interface HttpServerLimits {
  /** The request line and headers must arrive within this long, ms (`headersTimeout`). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this long, ms (`requestTimeout`): 408 after. */
  requestTimeoutMs: number;
  /**
   * A kept-alive connection with no request in progress is closed after this long, ms
   * (`keepAliveTimeout`). Node tells the client this value (`Keep-Alive: timeout=…`) but closes one
   * second later, so a client that honours it never sends on a socket being closed.
   */
  keepAliveTimeoutMs: number;
  /** Connections open at once; further ones are closed as they arrive (`maxConnections`). */
  maxConnections: number;
}

/**
 * The defaults: headers in 15 s and a whole request (at most `BODY_LIMIT`, 1 MiB by default) in
 * 30 s suit any client that is not stalling; 72 s idle outlasts the 60 s idle timeout of common
 * load balancers, so the hub never closes a socket the balancer is about to reuse.
 */
export const DEFAULT_HTTP_SERVER_LIMITS: HttpServerLimits = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
};

/** Node checks the two arrival timeouts only this often; a quarter of the shorter one, 0.1-5 s. */
function checkingIntervalMs(limits: HttpServerLimits): number {
  const shorter = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return Math.max(100, Math.min(5_000, Math.floor(shorter / 4)));
}

/** The Node server options that must be given when the server is created. */
export function httpServerOptions(limits: HttpServerLimits): ServerOptions {
  return {
    // Node requires headersTimeout <= requestTimeout.
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
}

/** Applies what can only be set on the created server. */
export function applyServerLimits(server: Server, limits: HttpServerLimits): void {
  server.maxConnections = limits.maxConnections;
}
