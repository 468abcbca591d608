import { type Dispatcher, Pool, ProxyAgent } from 'undici';
import { egressDenied } from './egress-errors.js';
import type { Connector } from './pinned-connector.js';

/**
 * A proxy URL as safe to print: scheme, host and port only. Its userinfo is the proxy's
 * credentials, and its path means nothing to a forward proxy.
 */
export function redactProxyUrl(proxyUrl: string): string {
  try {
    const url = new URL(proxyUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(invalid proxy URL)';
  }
}

/**
 * An undici dispatcher that sends every request through the forward proxy at `proxyUrl`, as a
 * CONNECT tunnel (for http targets too, so one path carries everything and the proxy never sees
 * an https request in clear). The socket to the proxy is opened by `connect`, the guard's pinned
 * connector, so the proxy's own address is resolved once and judged like any destination. The
 * target's name is resolved by the proxy: the guard's URL rules (scheme, credentials, address
 * literals, redirects hop by hop) run before each request in the guarded fetch on top of this.
 * Credentials in the URL's userinfo become a `Proxy-Authorization: Basic` header sent to the
 * proxy only. Only http(s) proxies are accepted; anything else throws `HUB_ERR_EGRESS_DENIED`.
 */
export function createProxyDispatcher(proxyUrl: string, connect: Connector): Dispatcher {
  let url: URL;
  try {
    url = new URL(proxyUrl);
  } catch {
    throw egressDenied('Proxy not allowed: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw egressDenied(`Proxy not allowed: only http and https proxies are (${redactProxyUrl(proxyUrl)})`);
  }
  return new ProxyAgent({
    uri: url.href,
    proxyTunnel: true,
    // The connection to the proxy itself: the pinned connector instead of undici's own.
    clientFactory: (origin, options) => new Pool(origin, { ...options, connect }),
    // As for direct connections: the guarded fetch's own caps govern requests, so a quiet SSE
    // stream is not cut by undici's idle timeouts.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}
