import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import { assertServerName, mayAccessYaml, type RegisteredServer } from '../registry/index.js';
import { aclBits, type ServerRecord, type ServersRepository } from '../store/index.js';
import { serverNotFound, type ServerAccess } from './access.js';

/** A server named in a route, as the caller may see it. */
export type Target =
  | { kind: 'yaml'; server: RegisteredServer }
  /** `bits`: what the caller holds on it (at least VIEW). */
  | { kind: 'db'; record: ServerRecord; bits: number };

/** Finds the server a route names, for one caller. */
export type TargetResolver = (caller: Identity, name: string) => Promise<Target>;

/**
 * Builds the resolver. The name is checked first (IV-04: 400 before any lookup); a YAML name wins
 * over a user-created server of the same name; a server the caller may not see is the same 404 as
 * one that does not exist (AZ-02).
 */
export function createTargetResolver(deps: {
  yaml: readonly RegisteredServer[];
  servers: Pick<ServersRepository, 'findByName'>;
  access: ServerAccess;
}): TargetResolver {
  const yamlByKey = new Map(deps.yaml.map((s) => [s.name.toLowerCase(), s]));
  return async (caller, name) => {
    assertServerName(name);
    const yaml = yamlByKey.get(name.toLowerCase());
    if (yaml) {
      if (!mayAccessYaml(yaml.config, caller)) throw serverNotFound(name);
      return { kind: 'yaml', server: yaml };
    }
    const record = await deps.servers.findByName(name);
    if (record === null) throw serverNotFound(name);
    const bits = await deps.access.bitsFor(record, caller);
    if ((bits & aclBits.VIEW) === 0) throw serverNotFound(name);
    return { kind: 'db', record, bits };
  };
}

/** The user-created server a mutation names; a visible YAML server is a 403 (it lives in the file). */
export function requireDbTarget(target: Target): Extract<Target, { kind: 'db' }> {
  if (target.kind === 'db') return target;
  throw new HubError('HUB_ERR_FORBIDDEN', {
    message: `MCP server '${target.server.name}' is defined in the configuration file and can only be changed there`,
  });
}
