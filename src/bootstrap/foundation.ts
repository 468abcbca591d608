import path from 'node:path';
import type { HubConfig } from '../config/index.js';
import type { Clock } from '../core/index.js';
import { createKv, type Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import {
  createDatabase,
  createRepositories,
  migrateToLatest,
  type Repositories,
  type StoreDatabase,
} from '../store/index.js';
import type { Cleanups } from './cleanups.js';
import { ensureSecrets, type HubSecrets } from './secrets.js';

/** What every other part stands on: the secrets, the migrated database and the KV. */
export interface Foundation {
  secrets: HubSecrets;
  database: StoreDatabase;
  repos: Repositories;
  kv: Kv;
}

/** Reads or makes the secrets, opens and migrates the database, and opens the KV. */
export async function openFoundation(
  config: HubConfig,
  base: { clock: Clock; logger: Logger },
  cleanups: Cleanups,
): Promise<Foundation> {
  const { env } = config;
  const { clock, logger } = base;
  const secrets = await ensureSecrets({
    jwtSecret: env.jwtSecret,
    credentialsKey: env.credentialsKey,
    dataDir: env.dataDir,
    production: env.nodeEnv === 'production',
  });
  logStartupNotices(logger, secrets.generated, env.dataDir, config.warnings);

  const database = await createDatabase({
    databaseUrl: env.databaseUrl,
    sqlitePath: path.join(env.dataDir, 'switchboard.db'),
  });
  cleanups.push(() => database.close());
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const repos = createRepositories({ db: database.db, clock });

  const kv = createKv({
    redis: env.redis,
    keyPrefix: env.redisKeyPrefix,
    clock,
    onError: (err) => logger.warn({ err }, 'kv error'),
  });
  cleanups.push(() => kv.close());
  return { secrets, database, repos, kv };
}

/** What an operator must hear once at start: secrets generated for them, config keys that do nothing. */
function logStartupNotices(
  logger: Logger,
  generated: readonly string[],
  dataDir: string,
  warnings: HubConfig['warnings'],
): void {
  for (const name of generated) {
    logger.warn({ secret: name, dir: dataDir }, `${name} was not set: generated one into the data directory`);
  }
  // Keys kept so a librechat.yaml validates unchanged, said once so nobody believes they take effect.
  for (const warning of warnings) {
    logger.warn(
      { key: warning.key, paths: warning.paths },
      `config key '${warning.key}' is accepted but not used: ${warning.reason}`,
    );
  }
}
