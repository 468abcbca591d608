import type { ConnectionPool, UpstreamConnection } from '../connections/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { connectionKeyFor, type ConnectionProfile } from './connection-keys.js';

/** How often a retired REST connection still busy with calls is looked at again. */
const RETIRE_CHECK_MS = 250;

/**
 * Which app-level stdio servers answer the same whatever client capabilities a connection declares,
 * so REST callers (a connection declaring none) and /mcp sessions (the shared relay connection,
 * declaring sampling, elicitation and roots) can share one process.
 *
 * The rule, learned from each server's behaviour the first time both connections are up: the
 * server is capability-blind when both gave the same `initialize` answer (capabilities, server info,
 * instructions) and list the same tools. Servers that tailor themselves to the client (offering
 * sampling or elicitation tools only to a client that declared them, as server-everything does)
 * differ there and keep a process per profile. Once blind, the REST profile's calls go to the relay
 * connection and the REST process is closed as soon as it has no call in flight. A REST call that
 * leads such a server to ask the client something is refused by the hub, as a /mcp client that
 * declared none of these is on that connection: the same failure the server met before on a
 * connection that declared nothing.
 *
 * Verdicts hold per config object: a changed config (a new object) is judged again; so is every
 * server after a restart of this instance (one second process, briefly, the first time both are used).
 */
export class ProfileSharing {
  /** Verdict per server config: true when the server answers the same to both profiles. */
  private readonly verdicts = new WeakMap<object, boolean>();
  /** Configs being judged now (one judgement at a time each). */
  private readonly judging = new WeakSet<object>();

  constructor(
    private readonly pool: Pick<ConnectionPool, 'peek' | 'disconnect'>,
    private readonly logger?: Logger,
  ) {}

  /** The profile whose connection serves `profile` for this server and scope. */
  profileFor(server: RegisteredServer, app: boolean, profile: ConnectionProfile): ConnectionProfile {
    return profile === 'rest' && app && this.verdicts.get(server.config) === true ? 'relay' : profile;
  }

  /**
   * Called after a shared connection of an app-level server opened: when both profiles' connections
   * of a stdio server are up and it was not judged yet, judges it, and when the answers match
   * retires the REST connection (once nothing is in flight on it). True when this call found the
   * server blind, so a REST caller should take the relay connection instead. No promise (nothing to
   * wait for) on the hot path: the server judged, or not stdio, or one profile down. Never rejects.
   */
  consider(server: RegisteredServer): Promise<boolean> | false {
    const config = server.config;
    if (config.type !== 'stdio' || this.verdicts.has(config) || this.judging.has(config)) return false;
    const restKey = connectionKeyFor('app', server.name, '', 'rest');
    const rest = this.pool.peek(restKey);
    const relay = this.pool.peek(connectionKeyFor('app', server.name, '', 'relay'));
    if (rest === undefined || relay === undefined) return false;
    this.judging.add(config);
    return this.judge(server, rest, relay).then((blind) => {
      if (blind) this.retireWhenIdle(restKey, rest);
      return blind;
    });
  }

  private async judge(
    server: RegisteredServer,
    rest: UpstreamConnection,
    relay: UpstreamConnection,
  ): Promise<boolean> {
    try {
      const blind = await sameAnswers(rest, relay);
      this.verdicts.set(server.config, blind);
      this.logger?.info(
        { serverName: server.name, sharedProcess: blind },
        blind
          ? 'MCP server answers REST and /mcp alike; they now share one connection'
          : 'MCP server answers depend on client capabilities; REST and /mcp keep their own connections',
      );
      return blind;
    } catch (err) {
      this.logger?.debug({ err, serverName: server.name }, 'could not compare the MCP server profiles');
      return false;
    } finally {
      this.judging.delete(server.config);
    }
  }

  /** Closes the REST connection once nothing is in flight on it (new calls already go elsewhere). */
  private retireWhenIdle(key: string, connection: UpstreamConnection): void {
    if (this.pool.peek(key) !== connection) return;
    if (connection.inFlight === 0) {
      void this.pool.disconnect(key);
      return;
    }
    setTimeout(() => this.retireWhenIdle(key, connection), RETIRE_CHECK_MS).unref();
  }
}

/** True when both connections' upstreams introduced themselves alike and list the same tools. */
async function sameAnswers(a: UpstreamConnection, b: UpstreamConnection): Promise<boolean> {
  const intro = (c: UpstreamConnection) =>
    JSON.stringify([c.capabilities ?? null, c.serverInfo ?? null, c.instructions ?? null]);
  if (intro(a) !== intro(b)) return false;
  const [toolsA, toolsB] = await Promise.all([a.listTools(), b.listTools()]);
  const sorted = (tools: Array<{ name: string }>) =>
    JSON.stringify([...tools].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)));
  return sorted(toolsA) === sorted(toolsB);
}
