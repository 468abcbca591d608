import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { RedisAddress } from '../../src/kv/index.js';
import { freeLoopbackPort, RedisProcess } from './redis-cluster.js';

/** How long the set-up, or a failover, may take before the helper gives up. */
const WITHIN_MS = 30_000;

/** A master `redis-server` (and, if asked, a replica of it) and one Sentinel watching it, on loopback. */
export interface RedisSentinelHandle {
  /** The master's name as the Sentinel knows it (`REDIS_SENTINEL_NAME`). */
  name: string;
  sentinels: RedisAddress[];
  /** `REDIS_SENTINELS` for a hub. */
  sentinelsEnv: string;
  /** The first master's port (tests that look inside it); after a failover see {@link masterNow}. */
  masterPort: number;
  /** The replica's port, when one was started. */
  replicaPort: number | undefined;
  /** The port of the master the Sentinel names right now. */
  masterNow(): Promise<number>;
  /**
   * `SENTINEL FAILOVER`: promotes the replica without waiting for the master to fail. Resolves
   * with the new master's port once the Sentinel names it (and so has published `+switch-master`).
   */
  failover(): Promise<number>;
  /** Kills one data node by pid, as a crash (by its port). */
  kill(port: number): Promise<void>;
  /** Kills every process by pid and removes their directory. */
  stop(): Promise<void>;
}

/** Options for {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** Also start a replica of the master (`--replicaof`), so a failover has somewhere to go. */
  replica?: boolean;
}

/**
 * Starts a master `redis-server`, optionally a replica of it, and a `redis-server --sentinel`
 * monitoring the master (quorum 1), each on a free loopback port, in a temporary directory (a
 * Sentinel rewrites its config file, and on a failover the data nodes' too, so they must be
 * writable files). Resolves once the Sentinel monitors the master (and has found the replica), so a
 * client asking it for the master's address gets one.
 */
export async function startRedisSentinel(
  name = 'sbmaster',
  options: RedisSentinelOptions = {},
): Promise<RedisSentinelHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'switchboard-redis-sentinel-'));
  const processes: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freeLoopbackPort();
    processes.push(await startDataNode(dir, masterPort, []));
    let replicaPort: number | undefined;
    if (options.replica) {
      replicaPort = await freeLoopbackPort();
      processes.push(await startDataNode(dir, replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]));
      await pollUntil(`replica ${replicaPort} in sync`, () =>
        infoHas(replicaPort!, 'replication', 'master_link_status:up'),
      );
    }
    const sentinelPort = await freeLoopbackPort();
    const config = path.join(dir, 'sentinel.conf');
    await writeFile(
      config,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
        `sentinel down-after-milliseconds ${name} 5000`,
        '',
      ].join('\n'),
    );
    processes.push(await RedisProcess.start(sentinelPort, [config, '--sentinel']));
    const sentinel: RedisAddress = { host: '127.0.0.1', port: sentinelPort };
    if (replicaPort !== undefined) {
      // The Sentinel learns of replicas from the master's INFO; a failover before that has no candidate.
      await pollUntil(`sentinel sees replica ${replicaPort}`, async () =>
        (await askSentinel(sentinel, ['REPLICAS', name])).includes(String(replicaPort)),
      );
    }
    const masterNow = async (): Promise<number> => {
      const [, port] = (await askSentinelRaw(sentinel, ['GET-MASTER-ADDR-BY-NAME', name])) as string[];
      return Number(port);
    };
    const failover = async (): Promise<number> => {
      const before = await masterNow();
      // NOGOODSLAVE until the Sentinel has fresh INFO from the replica; try again until it takes.
      await pollUntil('sentinel accepts FAILOVER', async () =>
        askSentinelRaw(sentinel, ['FAILOVER', name]).then(
          () => true,
          (error: unknown) => {
            if (error instanceof Error && /NOGOODSLAVE|INPROG/.test(error.message)) return false;
            throw error;
          },
        ),
      );
      let after = before;
      await pollUntil('sentinel names a new master', async () => {
        after = await masterNow();
        return after !== before;
      });
      return after;
    };
    const kill = async (port: number): Promise<void> => {
      await processes.find((p) => p.port === port)?.kill();
    };
    return {
      name,
      sentinels: [sentinel],
      sentinelsEnv: `127.0.0.1:${sentinelPort}`,
      masterPort,
      replicaPort,
      masterNow,
      failover,
      kill,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A data node with its own (empty, writable) config file, which Sentinel rewrites on a failover. */
async function startDataNode(dir: string, port: number, extra: readonly string[]): Promise<RedisProcess> {
  const config = path.join(dir, `redis-${port}.conf`);
  await writeFile(config, '');
  return RedisProcess.start(port, [
    config,
    ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
    ...['--save', '', '--appendonly', 'no'],
    ...extra,
  ]);
}

async function withClient<T>(address: RedisAddress, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({ ...address, lazyConnect: true, maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

async function infoHas(port: number, section: string, needle: string): Promise<boolean> {
  return withClient({ host: '127.0.0.1', port }, async (c) => (await c.info(section)).includes(needle));
}

function askSentinelRaw(sentinel: RedisAddress, args: string[]): Promise<unknown> {
  return withClient(sentinel, (c) => c.call('SENTINEL', ...args));
}

async function askSentinel(sentinel: RedisAddress, args: string[]): Promise<string> {
  return JSON.stringify(await askSentinelRaw(sentinel, args));
}

/** Polls `check` every 100 ms until it holds; fails after {@link WITHIN_MS}. */
async function pollUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + WITHIN_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
