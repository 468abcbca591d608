import path from 'node:path';
import { announceAccountChanges, createAccountsService, type AccountsService } from '../accounts/index.js';
import { createIdentityService, createTokenService, type IdentityService } from '../auth/index.js';
import { ensureSecrets } from '../bootstrap/index.js';
import type { HubConfig } from '../config/index.js';
import { systemClock } from '../core/index.js';
import { createKv } from '../kv/index.js';
import { createDatabase, createRepositories, migrateToLatest, type Repositories } from '../store/index.js';

/** What the administrative commands share: the database and the token issuer, without the HTTP app. */
export interface AdminContext {
  repos: Repositories;
  identity: IdentityService;
  /** Account changes made here reach running hubs: through Redis when they share one, else on their next read. */
  accounts: AccountsService;
  close(): Promise<void>;
}

/** Opens the same database and secrets the server uses, so CLI-made users and tokens work against it. */
export async function openAdminContext(config: HubConfig): Promise<AdminContext> {
  const env = config.env;
  const secrets = await ensureSecrets({
    jwtSecret: env.jwtSecret,
    credentialsKey: env.credentialsKey,
    dataDir: env.dataDir,
    production: env.nodeEnv === 'production',
  });
  const database = await createDatabase({
    databaseUrl: env.databaseUrl,
    sqlitePath: path.join(env.dataDir, 'switchboard.db'),
  });
  try {
    await migrateToLatest(database.db);
  } catch (err) {
    await database.close();
    throw err;
  }
  const repos = createRepositories({ db: database.db, clock: systemClock });
  const tokens = createTokenService({ jwtSecret: secrets.jwtSecret, clock: systemClock });
  const identity = createIdentityService({
    tokens,
    users: repos.users,
    roles: config.roles,
    clock: systemClock,
  });
  // Hubs sharing Redis cache accounts and hear of changes on it; hubs without it read the
  // database on every request, so there is nobody to tell and no connection to open.
  const kv = env.redis
    ? createKv({ redis: env.redis, keyPrefix: env.redisKeyPrefix, clock: systemClock })
    : undefined;
  const accounts = createAccountsService({
    repos,
    announce: kv ? announceAccountChanges({ kv, identity }) : () => Promise.resolve(),
  });
  return {
    repos,
    identity,
    accounts,
    close: async () => {
      try {
        await kv?.close();
      } finally {
        await database.close();
      }
    },
  };
}
