import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openAdminContext } from '../../../src/cli/admin-context.js';
import { loadConfig } from '../../../src/config/index.js';
import { recordLogOutput, recordSecret } from '../../support/run-record.js';
import { ClusterDatabase, ClusterRedis } from './cluster-stores.js';
import { HubInstance } from './hub-instance.js';
import { LoadBalancer } from './load-balancer.js';

const INSTANCE_NAMES = ['a', 'b', 'c'] as const;

/** A port the kernel had free a moment ago (loopback). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Where the cluster's PostgreSQL and Redis are (the test run's services). */
export interface ClusterOptions {
  postgresUrl: string;
  redisUrl: string;
  /** switchboard.yaml, shared by the three instances. */
  yaml: string;
}

/**
 * Three hub instances (`node dist/main.js serve`, `npm run build:hub` first) on loopback ports
 * behind HAProxy running deploy/haproxy.cfg, over a PostgreSQL database and a Redis namespace of
 * their own. Everything it starts, it stops; the database is dropped and the namespace's keys deleted.
 */
export class Cluster {
  /** Every pid the cluster started or saw its hubs start, for the clean-up check. */
  readonly startedPids = new Set<number>();

  private constructor(
    readonly hubs: readonly [HubInstance, HubInstance, HubInstance],
    readonly balancer: LoadBalancer,
    readonly database: ClusterDatabase,
    private readonly redis: ClusterRedis,
    readonly runDir: string,
    private readonly hubEnv: NodeJS.ProcessEnv,
  ) {}

  static async start(options: ClusterOptions): Promise<Cluster> {
    const runDir = await mkdtemp(path.join(tmpdir(), 'switchboard-cluster-'));
    const database = await ClusterDatabase.create(options.postgresUrl);
    const redis = new ClusterRedis(options.redisUrl);
    const [lbPort, ...hubPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const configPath = path.join(runDir, 'switchboard.yaml');
    await writeFile(configPath, options.yaml);
    const shared: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${lbPort}`,
      SWITCHBOARD_CONFIG: configPath,
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      // Keys and pub/sub channels of this run only.
      REDIS_NAMESPACE: redis.namespace,
      JWT_SECRET: `cluster-${runDir.slice(-6)}-shared-jwt-secret-0123456789`,
      CREDENTIALS_KEY: '5c'.repeat(32),
      LOG_LEVEL: 'info',
    };
    const hubs = INSTANCE_NAMES.map((name, i) => {
      const dataDir = path.join(runDir, name);
      mkdirSync(dataDir);
      const env = { ...shared, PORT: String(hubPorts[i]), DATA_DIR: dataDir };
      return new HubInstance(name, hubPorts[i]!, env, path.join(runDir, `hub-${name}.log`));
    }) as [HubInstance, HubInstance, HubInstance];
    const balancer = new LoadBalancer(
      lbPort,
      hubs.map((hub) => `127.0.0.1:${hub.port}`) as [string, string, string],
      path.join(runDir, 'haproxy.sock'),
      path.join(runDir, 'haproxy.log'),
    );
    const cluster = new Cluster(hubs, balancer, database, redis, runDir, { ...shared, DATA_DIR: runDir });
    for (const secret of [shared.JWT_SECRET, shared.CREDENTIALS_KEY])
      recordSecret('hub-config-secret', secret);
    try {
      // The first instance migrates the empty database; the other two find it done.
      await hubs[0].start();
      await Promise.all([hubs[1].start(), hubs[2].start()]);
      await balancer.start();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    for (const hub of hubs) cluster.startedPids.add(hub.pid);
    if (balancer.pid !== undefined) cluster.startedPids.add(balancer.pid);
    return cluster;
  }

  /** Through HAProxy: `http://127.0.0.1:<lb port>` (also every instance's PUBLIC_URL). */
  get url(): string {
    return this.balancer.url;
  }

  hub(name: 'a' | 'b' | 'c'): HubInstance {
    return this.hubs[INSTANCE_NAMES.indexOf(name)]!;
  }

  /** Notes the current stdio children (and their groups) of every running instance. */
  noteChildren(): Array<{ pid: number; pgid: number; command: string }> {
    const children = this.hubs.flatMap((hub) => hub.children());
    for (const child of children) this.startedPids.add(child.pid);
    return children;
  }

  /** Creates users (as `switchboard users add` does) and returns a bearer token for each email. */
  async userTokens(emails: readonly string[]): Promise<string[]> {
    const config = await loadConfig({ env: this.hubEnv, cwd: this.runDir });
    const ctx = await openAdminContext(config);
    try {
      const tokens: string[] = [];
      for (const email of emails) {
        const user =
          (await ctx.repos.users.findByEmail(email)) ??
          (await ctx.repos.users.create({ email, role: 'USER' }));
        const token = await ctx.identity.issueToken(user);
        recordSecret('hub-bearer-token', token);
        tokens.push(token);
      }
      return tokens;
    } finally {
      await ctx.close();
    }
  }

  /**
   * Stops HAProxy and every instance (SIGTERM), hands their logs to the run's SE-05 record, drops
   * the database and deletes the Redis keys, and removes the run directory.
   */
  async stop(): Promise<void> {
    this.noteChildren();
    await this.balancer.stop().catch(() => undefined);
    await Promise.all(this.hubs.map((hub) => hub.stop()));
    for (const hub of this.hubs) {
      const log = await readFile(hub.logPath, 'utf8').catch(() => '');
      if (log !== '') recordLogOutput(log);
    }
    await this.database.drop();
    await this.redis.release();
    // SWITCHBOARD_CLUSTER_KEEP=1 keeps the logs (hub-a.log, haproxy.log…) for a look after a failure.
    if (process.env.SWITCHBOARD_CLUSTER_KEEP === '1')
      console.log(`[cluster] run directory kept: ${this.runDir}`);
    else await rm(this.runDir, { recursive: true, force: true });
  }
}
