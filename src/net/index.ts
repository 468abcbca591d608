export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type EgressGuard,
  type EgressGuardOptions,
  createEgressGuard,
} from './egress-guard.js';
export type { EgressLimits, FetchLike } from './guarded-fetch.js';
export type { WebSocketDialer } from './egress-websocket.js';
export type { Connector } from './pinned-connector.js';
export type { ResolvedAddress, Resolver } from './pick-address.js';
export { redactProxyUrl } from './proxied-fetch.js';
