import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import { isHubError } from '../errors/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import { parseExposedUri } from './names.js';
import { currentServer, type ServerRef } from './server-ref.js';
import type { ShownNames } from './shown-names.js';

/**
 * The server a shown `name` stands for, as the caller may use it now; `what` names the refusal.
 * Gone, hidden from the caller now, or its name taken by another server: the same answer as unknown.
 */
export async function targetOf<B extends { server: ServerRef }>(
  registry: ServerRegistry,
  shown: ShownNames<B>,
  name: string,
  caller: Identity,
  current: () => Promise<Iterable<readonly [string, B]>>,
  what: string,
): Promise<{ binding: B; target: RegisteredServer }> {
  const binding = await shown.resolve(name, current);
  const target = binding && (await currentServer(registry, binding.server, caller));
  if (!binding || !target) throw new McpError(ErrorCode.InvalidParams, `Unknown ${what}: ${name}`);
  return { binding, target };
}

/**
 * The server of an exposed resource URI, as the caller may use it now. The server part of the URI
 * is a server name, which holds no `/`: URIs of two servers never meet, so no map is needed.
 */
export async function resourceTarget(
  registry: ServerRegistry,
  uri: string,
  caller: Identity,
): Promise<{ target: RegisteredServer; uri: string }> {
  const parsed = parseExposedUri(uri);
  if (!parsed) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
  try {
    return { target: await registry.get(parsed.serverName, caller), uri: parsed.uri };
  } catch (err) {
    if (isHubError(err)) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
    throw err;
  }
}
