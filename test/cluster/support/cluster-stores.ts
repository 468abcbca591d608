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

/**
 * A Redis namespace of its own for one cluster run (REDIS_NAMESPACE): every key and pub/sub
 * channel the hubs use starts with `<namespace>:`, so the run shares the machine's Redis with
 * other tests without hearing or touching them. Its keys are deleted at the end.
 */
export class ClusterRedis {
  readonly namespace = `sbcluster-${process.pid}-${Date.now()}`;

  constructor(
    /** The hubs' REDIS_URL. */
    readonly url: string,
  ) {}

  /** Deletes every key under the namespace. */
  async release(): Promise<void> {
    const redis = new Redis(this.url, { lazyConnect: true });
    await redis.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.namespace}:*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  }
}
