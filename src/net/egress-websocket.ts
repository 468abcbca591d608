import type { Socket } from 'node:net';
import { type Result, fail, ok } from '../errors/index.js';
import { egressDenied } from './egress-errors.js';
import { type EgressTarget, targetOf } from './egress-target.js';
import type { Connector } from './pinned-connector.js';

/**
 * Opens the TCP (ws:) or TLS (wss:) socket a websocket handshake goes over, through the egress
 * guard. Rejects with `HUB_ERR_EGRESS_DENIED` for a refused URL or destination, with the socket's
 * own error for a network failure.
 */
export type WebSocketDialer = (url: string | URL) => Promise<Socket>;

/**
 * The URL rules of a websocket destination, before any DNS or socket: it parses, its scheme is
 * `ws:` or `wss:`, and it carries no credentials and no fragment (RFC 6455 §3: a ws URI has no
 * fragment; credentials would leak through logs, SS-17).
 */
export function checkWebSocketUrl(input: string | URL): Result<URL> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: not a valid URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: only ws and wss URLs are');
  }
  if (url.username !== '' || url.password !== '') {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: URLs may not carry credentials');
  }
  if (url.href.includes('#')) {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: URLs may not carry a fragment');
  }
  return ok(url);
}

/**
 * The target a ws(s) URL connects to, judged as its handshake's scheme: RFC 6455 §3 gives ws and
 * wss the ports and security of http and https, and the opening handshake is an HTTP request, so
 * an allowlist entry `https://host` also allows `wss://host` and never `ws://host`.
 */
export function webSocketTarget(url: URL): EgressTarget | undefined {
  return targetOf(url.protocol === 'wss:' ? 'https:' : 'http:', url.hostname, url.port);
}

/**
 * A {@link WebSocketDialer} over the guard's pinned connector: the same policy, single DNS lookup,
 * pinned address, connect timeout and TLS settings (SNI and certificate checked against the URL's
 * host) as every guarded HTTP request. The caller hands the socket to its websocket client, which
 * must not resolve the name again.
 */
export function createWebSocketDialer(pinned: Connector): WebSocketDialer {
  return async (input) => {
    const checked = checkWebSocketUrl(input);
    if (!checked.ok) throw egressDenied(checked.message);
    const target = webSocketTarget(checked.value);
    if (target === undefined) throw egressDenied('Destination not allowed: bad port');
    return new Promise<Socket>((resolve, reject) => {
      pinned(
        { protocol: target.protocol, hostname: target.hostname, port: String(target.port) },
        (error, socket) => {
          if (error === null) resolve(socket);
          else reject(error);
        },
      );
    });
  };
}
