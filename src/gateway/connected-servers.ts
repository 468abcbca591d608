import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { GatewayDeps } from './aggregate-catalog.js';

/** A server the caller is connected to, and a way to send its upstream one request. */
export interface ConnectedServer {
  server: RegisteredServer;
  /** The pool key of the caller's connection to it. */
  key: string;
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
  capability: 'resources' | 'prompts' | 'logging' | 'tasks',
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
      const { key, connection } = await deps.upstreams.connect(caller, server, 'relay');
      if (connection.capabilities?.[capability] === undefined) continue;
      out.push({ server, key, forward: (method, params) => connection.forward(method, params) });
    } catch {
      // gone since the status check, or unreachable: simply left out
    }
  }
  return out;
}

/** Pages read from one upstream's list, against a server whose cursors never end. */
const MAX_PAGES = 20;

/**
 * Every item of one upstream list (`resources/list`, `resources/templates/list`, `prompts/list`),
 * following `nextCursor` up to {@link MAX_PAGES} pages; an upstream that fails gives what it gave
 * so far.
 */
export async function listAll(
  { forward }: ConnectedServer,
  method: string,
  field: string,
): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  try {
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const result = await forward(method, cursor === undefined ? undefined : { cursor });
      const list: unknown = result[field];
      if (Array.isArray(list)) items.push(...list.filter(isObject));
      const next = result.nextCursor;
      if (typeof next !== 'string' || seen.has(next)) break;
      seen.add(next);
      cursor = next;
    }
  } catch {
    // a server failing its list leaves out what it did not give
  }
  return items;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
