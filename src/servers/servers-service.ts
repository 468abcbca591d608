import type { Identity } from '../auth/index.js';
import type { ConfigIssue } from '../config/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { flowIdFor, type OAuthService } from '../oauth/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { aclBits, type Repositories, type ServerRecord } from '../store/index.js';
import { ALL_BITS, requireBit, requireRole, type ServerAccess } from './access.js';
import { toAuditEvent } from './audit-log.js';
import { checkDestinationChange } from './destination-rule.js';
import { inspectServer, type InspectDeps } from './inspect-server.js';
import { listServers, viewOfDbServer, viewOfYamlServer, type ListOptions, type ListPage } from './listing.js';
import { firstFreeName, nameCandidates, slugOfTitle } from './naming.js';
import {
  keepMaskedSecrets,
  mergeSecrets,
  openSecrets,
  sealSecrets,
  splitSecrets,
  withStoredSecrets,
  type ServerSecrets,
} from './secrets.js';
import type { ServerConnections } from './server-connections.js';
import { decodeDocument, encodeDocument, type Inspection } from './stored-server.js';
import { createTargetResolver, requireDbTarget } from './target.js';
import { parseUserServerInput, type UserServerConfig } from './user-input.js';
import { editableUserView, type ServerView } from './views.js';

/** `/api/mcp/servers`: list, read, create, update and delete user-created servers. */
export interface ServersService {
  /** Needs USE. */
  list(caller: Identity, options: ListOptions): Promise<ListPage>;
  /** Needs USE and, for a user-created server, VIEW (404 without). */
  get(caller: Identity, name: string): Promise<ServerView>;
  /** Needs USE and CREATE. `config` is the request's `config`, unchecked. */
  create(caller: Identity, config: unknown): Promise<ServerView>;
  /**
   * Needs USE, CREATE and EDIT. The whole config is replaced; a masked secret keeps its value.
   * Moving the server (its destination fields) needs every bit, and takes every user's
   * credentials and pending authorizations for it with it.
   */
  update(caller: Identity, name: string, config: unknown): Promise<ServerView>;
  /** Needs USE, CREATE and DELETE. Closes its connections and removes every user's credentials. */
  remove(caller: Identity, name: string): Promise<void>;
}

/** What {@link createServersService} is built from. */
export interface ServersServiceDeps {
  repos: Repositories;
  keyring: CipherKeyring;
  /** The administrator's servers (the registry's YAML tier). */
  yaml: readonly RegisteredServer[];
  access: ServerAccess;
  connections: ServerConnections;
  inspection: InspectDeps;
  logger: Logger;
  /** Pending OAuth flows, cancelled when a server moves; without it they complete into unusable tokens. */
  oauthFlows?: Pick<OAuthService, 'cancel'> | undefined;
}

/** The 400 for a config that fails validation: `{message: 'Invalid configuration', errors}`. */
function invalidConfiguration(errors: readonly ConfigIssue[]): HubError {
  return new HubError('HUB_ERR_VALIDATION', {
    message: 'Invalid configuration',
    details: { errors: errors.map(({ path, message }) => ({ path, message })) },
  });
}

/** The top-level fields an update changed; names only, for the audit log. */
function changedFields(before: UserServerConfig, after: UserServerConfig): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const get = (config: Readonly<Record<string, unknown>>, key: string): unknown => config[key];
  return [...keys]
    .filter((key) => JSON.stringify(get(before, key)) !== JSON.stringify(get(after, key)))
    .sort();
}

/** The host a config points at, for the audit log: never its path or query, which may hold a key. */
function hostOf(config: UserServerConfig): string {
  return URL.canParse(config.url) ? new URL(config.url).host : '';
}

/** Builds the {@link ServersService}. */
export function createServersService(deps: ServersServiceDeps): ServersService {
  return new StoredServersService(deps);
}

/** A stored server's previous config and secrets, as an update reads them. */
interface PreviousConfig {
  /** Null when the stored row cannot be read: nothing masked can then be kept. */
  config: UserServerConfig | null;
  secrets: ServerSecrets;
}

/**
 * The {@link ServersService} over the repositories: every call resolves its target and checks the
 * caller's role and ACL bits afresh; writes go in one transaction with their audit event; the
 * connection layer hears of each change after it is committed.
 */
class StoredServersService implements ServersService {
  private readonly resolve: ReturnType<typeof createTargetResolver>;
  /** The administrator's server names, lower-cased: no user-created server may take one. */
  private readonly yamlKeys: ReadonlySet<string>;

  constructor(private readonly deps: ServersServiceDeps) {
    this.resolve = createTargetResolver({
      yaml: deps.yaml,
      servers: deps.repos.servers,
      access: deps.access,
    });
    this.yamlKeys = new Set(deps.yaml.map((s) => s.name.toLowerCase()));
  }

  async list(caller: Identity, options: ListOptions): Promise<ListPage> {
    requireRole(caller, 'USE');
    const { yaml, repos, access, logger } = this.deps;
    return listServers({ yaml, servers: repos.servers, access, logger }, caller, options);
  }

  async get(caller: Identity, name: string): Promise<ServerView> {
    requireRole(caller, 'USE');
    const target = await this.resolve(caller, name);
    return target.kind === 'yaml'
      ? viewOfYamlServer(target.server, caller)
      : viewOfDbServer(target.record, target.bits);
  }

  async create(caller: Identity, input: unknown): Promise<ServerView> {
    requireRole(caller, 'USE', 'CREATE');
    const parsed = parseUserServerInput(input);
    if (!parsed.ok) throw invalidConfiguration(parsed.issues);
    const config = parsed.value;
    const slug = slugOfTitle(config.title ?? '');
    const inspection = await inspectServer(this.deps.inspection, config, caller);
    const candidates = nameCandidates(slug, this.yamlKeys);
    for (;;) {
      const name = await firstFreeName(candidates, this.deps.repos.servers);
      try {
        const created = await this.insert(name, config, inspection, caller);
        this.deps.connections.added(name, caller.userId);
        return created;
      } catch (error) {
        // Another create took the name between the check and the insert: try the next one.
        if (!isHubError(error, 'HUB_ERR_CONFLICT')) throw error;
      }
    }
  }

  async update(caller: Identity, name: string, input: unknown): Promise<ServerView> {
    requireRole(caller, 'USE', 'CREATE');
    const { record, bits } = requireDbTarget(await this.resolve(caller, name));
    requireBit(bits, aclBits.EDIT, name);
    const parsed = parseUserServerInput(input);
    if (!parsed.ok) throw invalidConfiguration(parsed.issues);
    const previous = this.previousOf(record);
    // Before anything else: an editor's attempt to move the server changes nothing.
    const moved = checkDestinationChange(
      bits,
      record.name,
      previous.config === null ? null : mergeSecrets(previous.config, previous.secrets),
      withStoredSecrets(parsed.value, previous.secrets),
    );
    // With no readable previous config, every masked value is refused (nothing to compare with).
    const kept = keepMaskedSecrets(
      parsed.value,
      previous.config ?? { ...parsed.value, url: '' },
      previous.secrets,
    );
    if (!kept.ok) throw invalidConfiguration(kept.issues);
    const config = kept.value;
    slugOfTitle(config.title ?? ''); // the name stays, but the title must still be one a name could come from
    const inspection = await inspectServer(this.deps.inspection, config, caller);
    const holders =
      moved.length > 0 ? await this.deps.repos.credentials.listUserIdsForServer(record.name) : [];
    const masked = await this.replace(record, { previous, config, inspection, moved }, caller);
    const users = await this.knownUsers(record);
    if (moved.length > 0) await this.cancelFlows(record.name, [...users, ...holders]);
    // New calls must use the new config: close what is open and forget the old tool lists; what
    // was open reopens in the background, on every instance, for users who still see the server.
    await this.deps.connections.replaceServer(record.name, users);
    return editableUserView(record.name, masked, inspection, record.id);
  }

  async remove(caller: Identity, name: string): Promise<void> {
    requireRole(caller, 'USE', 'CREATE');
    const { record, bits } = requireDbTarget(await this.resolve(caller, name));
    requireBit(bits, aclBits.DELETE, name);
    const users = await this.knownUsers(record);
    await this.deps.repos.transaction(async (trx) => {
      await trx.servers.delete(record.name);
      const credentials = await trx.credentials.deleteForServer(record.name);
      await trx.audit.record(
        toAuditEvent({
          actorId: caller.userId,
          action: 'server.delete',
          serverName: record.name,
          details: { serverId: record.id, credentialsRemoved: credentials },
        }),
      );
    });
    await this.deps.connections.closeServer(record.name, users);
  }

  /** The users a server's cached tools may be kept for: its owner and every user in its ACL. */
  private async knownUsers(record: ServerRecord): Promise<string[]> {
    const entries = await this.deps.repos.acl.listForResource(record.id);
    const users = entries.flatMap((e) => (e.principal.type === 'user' ? [e.principal.id] : []));
    return [record.ownerId, ...users];
  }

  /** The stored config and secrets, for keeping masked secrets. A row that fails either keeps none. */
  private previousOf(record: ServerRecord): PreviousConfig {
    try {
      return {
        config: decodeDocument(record).config,
        secrets: openSecrets(this.deps.keyring, record.id, record.secrets),
      };
    } catch (err) {
      this.deps.logger.error(
        { err, server: record.name },
        'stored MCP server is unreadable; masked values cannot be kept',
      );
      return { config: null, secrets: { headers: {} } };
    }
  }

  /** Voids the pending authorizations of these users: a flow begun for the old destination. */
  private async cancelFlows(serverName: string, userIds: readonly string[]): Promise<void> {
    const flows = this.deps.oauthFlows;
    if (!flows) return;
    await Promise.all(
      [...new Set(userIds)].map(async (userId) => {
        try {
          await flows.cancel(flowIdFor(userId, serverName));
        } catch (err) {
          this.deps.logger.warn({ err, server: serverName }, 'could not cancel a pending OAuth flow');
        }
      }),
    );
  }

  private insert(
    name: string,
    config: UserServerConfig,
    inspection: Inspection,
    caller: Identity,
  ): Promise<ServerView> {
    const keyring = this.deps.keyring;
    return this.deps.repos.transaction(async (trx) => {
      const { masked, secrets } = splitSecrets(config);
      const record = await trx.servers.create({
        name,
        ownerId: caller.userId,
        config: encodeDocument(masked, inspection),
      });
      // The secrets' AAD names the server id, which exists only once the row does.
      const sealed = sealSecrets(keyring, record.id, secrets);
      if (sealed !== null) await trx.servers.update(name, { secrets: sealed });
      await trx.acl.grant({
        resourceId: record.id,
        principal: { type: 'user', id: caller.userId },
        permBits: ALL_BITS,
        grantedBy: caller.userId,
      });
      await trx.audit.record(
        toAuditEvent({
          actorId: caller.userId,
          action: 'server.create',
          serverName: name,
          details: {
            serverId: record.id,
            type: config.type,
            host: hostOf(config),
            requiresOAuth: inspection.requiresOAuth,
            toolCount: inspection.toolCount,
          },
        }),
      );
      return editableUserView(name, masked, inspection, record.id);
    });
  }

  /**
   * Writes an update in one transaction with its audit event; a moved server loses every user's
   * credentials with it. Returns the config as stored (secrets masked).
   */
  private async replace(
    record: ServerRecord,
    change: { previous: PreviousConfig; config: UserServerConfig; inspection: Inspection; moved: string[] },
    caller: Identity,
  ): Promise<UserServerConfig> {
    const { previous, config, inspection, moved } = change;
    const { masked, secrets } = splitSecrets(config);
    const keyring = this.deps.keyring;
    await this.deps.repos.transaction(async (trx) => {
      await trx.servers.update(record.name, {
        config: encodeDocument(masked, inspection),
        secrets: sealSecrets(keyring, record.id, secrets),
      });
      // Credentials were given for where the server pointed: tokens, user values, the client
      // registration. Every read also checks their binding, so a row another instance writes
      // meanwhile is never sent to the new destination either.
      const credentialsRemoved = moved.length > 0 ? await trx.credentials.deleteForServer(record.name) : 0;
      await trx.audit.record(
        toAuditEvent({
          actorId: caller.userId,
          action: 'server.update',
          serverName: record.name,
          details: {
            serverId: record.id,
            changed: previous.config === null ? ['*'] : changedFields(previous.config, config),
            host: hostOf(config),
            requiresOAuth: inspection.requiresOAuth,
            toolCount: inspection.toolCount,
            ...(moved.length > 0 ? { destinationChanged: moved, credentialsRemoved } : {}),
          },
        }),
      );
    });
    return masked;
  }
}
