import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { GatewayDeps } from './aggregate-catalog.js';

/** A server the caller is connected to, and a way to send its upstream one request. */
export interface ConnectedServer {
  server: RegisteredServer;
  forward: (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/**
 * The servers the caller may use now, is connected to, and whose upstream offers a capability:
 * what list requests fan out to. A server that dropped between the status check and the request is
 * left out.
 */
export async function connectedWith(
  deps: Pick<GatewayDeps, 'registry' | 'upstreams'>,
  caller: Identity,
  capability: 'resources' | 'prompts' | 'logging',
): Promise<ConnectedServer[]> {
  const servers = await deps.registry.list(caller);
  const out: ConnectedServer[] = [];
  for (const server of servers) {
    if (deps.upstreams.status(caller, server, 'relay').connectionState !== 'connected') continue;
    try {
      const { connection } = await deps.upstreams.connect(caller, server, 'relay');
      if (connection.capabilities?.[capability] === undefined) continue;
      out.push({ server, forward: (method, params) => connection.forward(method, params) });
    } catch {
      // gone since the status check: simply left out
    }
  }
  return out;
}
