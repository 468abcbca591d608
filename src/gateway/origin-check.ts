import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors/index.js';

/**
 * DNS-rebinding and cross-site protection for the MCP endpoints (AZ-09, IV-13): the `Host` must
 * name the hub (its PUBLIC_URL host, or a loopback name with the port the request arrived on: a
 * rebinding attack always carries the attacker's own host name), and a browser's `Origin`, when
 * sent, must be one of those too. Requests without `Origin` come from non-browser clients and are
 * allowed; `Origin: null` (an opaque origin) is refused.
 */
export function createOriginCheck(options: { publicUrl: string }): (request: FastifyRequest) => void {
  const publicUrl = new URL(options.publicUrl);
  return (request) => {
    const port = request.socket.localPort;
    const local = port === undefined ? [] : [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`];
    const hosts = new Set([publicUrl.host, ...local]);
    const host = request.headers.host?.toLowerCase();
    if (!host || !hosts.has(host)) throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Host not allowed' });
    const origin = request.headers.origin?.toLowerCase();
    if (origin === undefined) return;
    const origins = new Set([publicUrl.origin, ...local.map((h) => `http://${h}`)]);
    if (!origins.has(origin)) throw new HubError('HUB_ERR_FORBIDDEN', { message: 'Origin not allowed' });
  };
}
