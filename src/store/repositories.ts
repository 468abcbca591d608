import { type AclRepository, createAclRepository } from './acl-repository.js';
import { type AuditRepository, createAuditRepository } from './audit-repository.js';
import {
  type BrowserSessionsRepository,
  createBrowserSessionsRepository,
} from './browser-sessions-repository.js';
import { type CredentialsRepository, createCredentialsRepository } from './credentials-repository.js';
import { type GroupsRepository, createGroupsRepository } from './groups-repository.js';
import { type OAuthServerRepository, createOAuthServerRepository } from './oauth-server-repository.js';
import { inTransaction, type RepositoryDeps } from './repository-deps.js';
import { type ServersRepository, createServersRepository } from './servers-repository.js';
import { type UsersRepository, createUsersRepository } from './users-repository.js';

/** Every repository over one database (or one transaction). */
export interface Repositories {
  users: UsersRepository;
  servers: ServersRepository;
  acl: AclRepository;
  credentials: CredentialsRepository;
  audit: AuditRepository;
  groups: GroupsRepository;
  /** The hub's own authorization server: its grants, tokens, clients and signing keys. */
  oauthServer: OAuthServerRepository;
  /** Signed-in browsers (server-side sessions). */
  browserSessions: BrowserSessionsRepository;
  /**
   * Runs `work` with repositories bound to one transaction: all of its writes land, or none do.
   * Inside a transaction already, it joins that one.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
}

/** Builds every repository from the same dependencies. */
export function createRepositories(deps: RepositoryDeps): Repositories {
  return {
    users: createUsersRepository(deps),
    servers: createServersRepository(deps),
    acl: createAclRepository(deps),
    credentials: createCredentialsRepository(deps),
    audit: createAuditRepository(deps),
    groups: createGroupsRepository(deps),
    oauthServer: createOAuthServerRepository(deps),
    browserSessions: createBrowserSessionsRepository(deps),
    transaction: (work) => inTransaction(deps.db, (trx) => work(createRepositories({ ...deps, db: trx }))),
  };
}
