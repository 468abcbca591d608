import { Agent, type Dispatcher, buildConnector } from 'undici';
import { type Result, fail, isHubError, ok } from '../errors/index.js';
import { createEgressPolicy } from './egress-policy.js';
import { checkUrlShape, targetOfUrl } from './egress-target.js';
import { type EgressLimits, type FetchLike, createGuardedFetch } from './guarded-fetch.js';
import { type WebSocketDialer, createWebSocketDialer } from './egress-websocket.js';
import { type Connector, createPinnedConnector } from './pinned-connector.js';
import { createProxyDispatcher } from './proxied-fetch.js';
import { type Resolver, pickAddress, systemResolver } from './pick-address.js';

/** MCP responses are JSON-RPC documents; 10 MiB leaves room for large tool results. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;
/** Total time cap of a request that is not `streaming`. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Redirect hops followed. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** DNS lookup, then TCP and TLS handshakes, each within this. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** How to build an {@link EgressGuard}. */
export interface EgressGuardOptions extends Partial<EgressLimits> {
  /** `mcpSettings.allowedDomains`: the only way to reach a non-public address. */
  allowedDomains?: readonly string[];
  /** LibreChat's `mcpSettings.allowedAddresses` (`host:port`), read the same way. */
  allowedAddresses?: readonly string[];
  /** Default: the system resolver, `dns.promises.lookup(host, {all: true})`. */
  resolver?: Resolver;
  /** Bound on the DNS lookup and, separately, on the TCP and TLS handshakes. */
  connectTimeoutMs?: number;
  /**
   * Opens the socket once its address has been checked (default: undici's connector). A test seam:
   * tests pass a trap that records each address and dials a loopback stand-in, so no test can leave
   * loopback even if a check were broken.
   */
  dial?: Connector;
}

/** The one way out of the hub (docs/security.md, "Egress"). */
export interface EgressGuard {
  /** Guarded fetch with the guard's own limits (defaults suit OAuth and other one-shot requests). */
  fetch: FetchLike;
  /** A guarded fetch with other limits, sharing the same dispatcher, policy and connection pool. */
  withLimits(overrides: Partial<EgressLimits>): FetchLike;
  /**
   * A guarded fetch that reaches its targets through the forward proxy at `proxyUrl` (http or
   * https, credentials in its userinfo allowed): the proxy's address must pass the policy like any
   * destination, each target URL and redirect hop still passes the URL rules and refuses a
   * non-public address literal the policy does not allow, and the caps apply. Names are resolved
   * by the proxy. One dispatcher per proxy URL, shared by every fetch built for it.
   */
  viaProxy(proxyUrl: string, overrides: Partial<EgressLimits>): FetchLike;
  /**
   * The undici dispatcher under `fetch`: every socket it opens is checked and pinned. Alone it does
   * not follow redirects or cap responses; prefer `fetch`.
   */
  dispatcher: Dispatcher;
  /**
   * Opens the socket of a ws(s) upstream by the same rules and pinning as `fetch` (ws and wss are
   * judged as http and https). The websocket client must not follow redirects: a hop would skip
   * the guard.
   */
  dialWebSocket: WebSocketDialer;
  /**
   * Checks a URL to be stored (a server URL, an OAuth endpoint) by the same rules, DNS included,
   * without connecting. Refuses a fragment (SS-17), where `fetch` strips one.
   */
  checkUrl(url: string | URL): Promise<Result<URL>>;
  /** Ends every connection and request in flight; close the guard after its users. */
  close(): Promise<void>;
}

/**
 * Builds the egress guard every outbound HTTP request goes through (docs/security.md, "Egress"): http(s)
 * only, no credentials in URLs, non-public addresses refused unless allowlisted, DNS resolved once
 * per connection and pinned, redirects re-checked hop by hop, responses capped in size and time.
 */
export function createEgressGuard(options: EgressGuardOptions = {}): EgressGuard {
  const policy = createEgressPolicy(options.allowedDomains, options.allowedAddresses);
  const connectTimeoutMs = positive(
    'connectTimeoutMs',
    options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  );
  const pickDeps = { policy, resolver: options.resolver ?? systemResolver, timeoutMs: connectTimeoutMs };
  const dial = options.dial ?? buildConnector({ timeout: connectTimeoutMs });
  const pinned = createPinnedConnector((target) => pickAddress(target, pickDeps), dial);
  const dispatcher = new Agent({
    connect: pinned,
    // The guard's own caps govern requests: undici's 300 s header and body idle timeouts would cut
    // a quiet SSE stream or a long tool call that answers with JSON only at the end.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const defaults = checkLimits({
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    maxRedirects: options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
    streaming: options.streaming ?? false,
  });
  const withLimits = (overrides: Partial<EgressLimits>): FetchLike =>
    createGuardedFetch({ dispatcher, policy, limits: checkLimits({ ...defaults, ...overrides }) });
  // Keyed by the whole URL: two entries with other credentials must not share a tunnel.
  const proxies = new Map<string, Dispatcher>();
  const viaProxy = (proxyUrl: string, overrides: Partial<EgressLimits>): FetchLike => {
    let proxy = proxies.get(proxyUrl);
    if (proxy === undefined) {
      proxy = createProxyDispatcher(proxyUrl, pinned);
      proxies.set(proxyUrl, proxy);
    }
    return createGuardedFetch({
      dispatcher: proxy,
      policy,
      limits: checkLimits({ ...defaults, ...overrides }),
    });
  };

  return {
    fetch: withLimits({}),
    withLimits,
    viaProxy,
    dispatcher,
    dialWebSocket: createWebSocketDialer(pinned),
    async checkUrl(input) {
      const shape = checkUrlShape(input, 'refuse');
      if (!shape.ok) return shape;
      const target = targetOfUrl(shape.value);
      if (target === undefined) return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: bad port');
      try {
        await pickAddress(target, pickDeps);
      } catch (error) {
        if (isHubError(error)) return fail(error.code, error.message);
        throw error;
      }
      return ok(shape.value);
    },
    async close() {
      await Promise.all([dispatcher, ...proxies.values()].map((each) => each.destroy()));
    },
  };
}

function checkLimits(limits: EgressLimits): EgressLimits {
  positive('maxResponseBytes', limits.maxResponseBytes);
  positive('timeoutMs', limits.timeoutMs);
  if (!Number.isInteger(limits.maxRedirects) || limits.maxRedirects < 0) {
    throw new RangeError('maxRedirects must be a whole number, 0 or more');
  }
  return limits;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new RangeError(`${name} must be more than 0 (Infinity for no cap)`);
  return value;
}
