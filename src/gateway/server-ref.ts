import type { Identity } from '../auth/index.js';
import { isHubError } from '../errors/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import type { NameTrust } from './names.js';

/**
 * Which server a name shown to a client stands for: enough to find that server again, and to tell
 * it from a later one that took its name. Never its config: a config held across requests would be
 * a snapshot of decrypted secrets that outlives the caller's access to them.
 */
export interface ServerRef {
  name: string;
  source: RegisteredServer['source'];
  ownerId: string | undefined;
}

/** The reference to a server, without its config. */
export function refOf(server: RegisteredServer): ServerRef {
  return { name: server.name, source: server.source, ownerId: server.ownerId };
}

/** `own` for the admin's servers and the caller's own, `shared` for what other users shared. */
export function trustOf(server: RegisteredServer, caller: Identity): NameTrust {
  return server.source === 'yaml' || server.ownerId === caller.userId ? 'own' : 'shared';
}

/**
 * The referenced server as the registry gives it to this caller now (access and config re-read),
 * or null when it is gone, hidden from the caller, or another server has taken its name since.
 */
export async function currentServer(
  registry: ServerRegistry,
  ref: ServerRef,
  caller: Identity,
): Promise<RegisteredServer | null> {
  let server: RegisteredServer;
  try {
    server = await registry.get(ref.name, caller);
  } catch (err) {
    if (isHubError(err)) return null;
    throw err;
  }
  return server.source === ref.source && server.ownerId === ref.ownerId ? server : null;
}
