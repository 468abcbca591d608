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
 * what list requests fan out to. With `open`, a server the caller is authenticated for but not yet
 * connected to is connected first (the client asked for its list, as `tools/list` would). A server
 * that dropped between the status check and the request, or cannot be reached, is left out.
 */
export async function connectedWith(
  deps: Pick<GatewayDeps, 'registry' | 'upstreams'>,
  caller: Identity,
  capability: 'resources' | 'prompts' | 'logging',
  open = false,
): Promise<ConnectedServer[]> {
  const servers = await deps.registry.list(caller);
  const reachable = async (server: RegisteredServer): Promise<boolean> => {
    if (deps.upstreams.status(caller, server, 'relay').connectionState === 'connected') return true;
    return open && (await deps.upstreams.isAuthenticated(caller, server).catch(() => false));
  };
  const out: ConnectedServer[] = [];
  for (const server of servers) {
    try {
      if (!(await reachable(server))) continue;
      const { connection } = await deps.upstreams.connect(caller, server, 'relay');
      if (connection.capabilities?.[capability] === undefined) continue;
      out.push({ server, forward: (method, params) => connection.forward(method, params) });
    } catch {
      // gone since the status check, or unreachable: simply left out
    }
  }
  return out;
}
