import path from 'node:path';
import { createIdentityService, createTokenService, type IdentityService } from '../auth/index.js';
import { ensureSecrets } from '../bootstrap/index.js';
import type { HubConfig } from '../config/index.js';
import { systemClock } from '../core/index.js';
import { createDatabase, createRepositories, migrateToLatest, type Repositories } from '../store/index.js';

/** What the administrative commands share: the database and the token issuer, without the HTTP app. */
export interface AdminContext {
  repos: Repositories;
  identity: IdentityService;
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
  return { repos, identity, close: () => database.close() };
}
