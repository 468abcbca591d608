import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * A PostgreSQL database of its own for one cluster run, created empty and dropped (with whatever
 * connections are still open to it) at the end. The hubs migrate it at start-up.
 */
export class ClusterDatabase {
  private constructor(
    private readonly adminUrl: string,
    readonly name: string,
  ) {}

  static async create(adminUrl: string): Promise<ClusterDatabase> {
    const name = `sb_cluster_${process.pid}_${Date.now()}`;
    await ClusterDatabase.run(adminUrl, `CREATE DATABASE ${name}`);
    return new ClusterDatabase(adminUrl, name);
  }

  /** The hubs' DATABASE_URL. */
  get url(): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${this.name}`;
    return url.toString();
  }

  /** One query on the cluster's database (the tests look at stored credentials). */
  async query<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<R>(text)).rows;
    } finally {
      await client.end();
    }
  }

  async drop(): Promise<void> {
    await ClusterDatabase.run(this.adminUrl, `DROP DATABASE IF EXISTS ${this.name} WITH (FORCE)`);
  }

  private static async run(adminUrl: string, sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

const CLAIM_KEY = 'switchboard-cluster-test:claimed-by';

/**
 * A Redis keyspace of its own for one cluster run: the first empty logical database from 15 down
 * to 1, claimed with a marker key. Logical databases do not separate pub/sub channels; keys are
 * what this keeps apart. Its keys are deleted at the end (only in the claimed database).
 */
export class ClusterRedis {
  private constructor(
    private readonly baseUrl: string,
    readonly db: number,
  ) {}

  static async claim(baseUrl: string): Promise<ClusterRedis> {
    const owner = `${process.pid}-${Date.now()}`;
    for (let db = 15; db >= 1; db--) {
      const redis = new Redis(ClusterRedis.urlFor(baseUrl, db), { lazyConnect: true });
      await redis.connect();
      try {
        if ((await redis.dbsize()) === 0 && (await redis.set(CLAIM_KEY, owner, 'EX', 3600, 'NX')) === 'OK') {
          return new ClusterRedis(baseUrl, db);
        }
      } finally {
        redis.disconnect();
      }
    }
    throw new Error('no empty Redis logical database (1-15) to run the cluster in');
  }

  /** The hubs' REDIS_URL. */
  get url(): string {
    return ClusterRedis.urlFor(this.baseUrl, this.db);
  }

  /** Deletes every key of the claimed database (the hubs' and the claim). */
  async release(): Promise<void> {
    const redis = new Redis(this.url, { lazyConnect: true });
    await redis.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }

  private static urlFor(baseUrl: string, db: number): string {
    const url = new URL(baseUrl);
    url.pathname = `/${db}`;
    return url.toString();
  }
}
