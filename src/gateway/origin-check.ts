import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors/index.js';

/** The `Host` values and browser origins that name the hub, for requests arriving on one port. */
interface Allowed {
  hosts: ReadonlySet<string>;
  origins: ReadonlySet<string>;
}

/**
 * The allowed names by local port, built once per port from the public URL (a hub listens on one
 * or two ports, so this stays tiny) instead of on every request.
 */
export class OriginAllowlist {
  private readonly byPort = new Map<number | undefined, Allowed>();
  private readonly publicUrl: URL;

  constructor(publicUrl: string) {
    this.publicUrl = new URL(publicUrl);
  }

  /** The allowed names for a request that arrived on `port` (undefined: not a socket, e.g. inject). */
  forPort(port: number | undefined): Allowed {
    const known = this.byPort.get(port);
    if (known !== undefined) return known;
    const local = port === undefined ? [] : [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
    const allowed: Allowed = {
      hosts: new Set([this.publicUrl.host, ...local]),
      origins: new Set([this.publicUrl.origin, ...local.map((h) => `http://${h}`)]),
    };
    this.byPort.set(port, allowed);
    return allowed;
  }
}

/**
 * DNS-rebinding and cross-site protection for the MCP endpoints (AZ-09, IV-13): the `Host` must
 * name the hub (its PUBLIC_URL host, or a loopback name with the port the request arrived on: a
 * rebinding attack always carries the attacker's own host name), and a browser's `Origin`, when
 * sent, must be one of those too. Requests without `Origin` come from non-browser clients and are
 * allowed; `Origin: null` (an opaque origin) is refused.
 */
export function createOriginCheck(options: { publicUrl: string }): (request: FastifyRequest) => void {
  const allowlist = new OriginAllowlist(options.publicUrl);
  return (request) => {
    const allowed = allowlist.forPort(request.socket.localPort);
    const host = request.headers.host?.toLowerCase();
    if (!host || !allowed.hosts.has(host))
      throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Host not allowed' });
    const origin = request.headers.origin?.toLowerCase();
    if (origin === undefined) return;
    if (!allowed.origins.has(origin))
      throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Origin not allowed' });
  };
}
