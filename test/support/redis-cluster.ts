import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisAddress } from '../../src/kv/index.js';

const run = promisify(execFile);

/** How long a cluster or Sentinel set-up may take to become usable before the start fails. */
const READY_WITHIN_MS = 30_000;

/**
 * True when `redis-server` and `redis-cli` can be run here. Outside CI a suite that needs its own
 * Redis processes skips without them; under CI=true it runs and fails (see {@link mustRunRedisSuites}).
 */
export const redisBinariesAvailable: boolean = ['redis-server', 'redis-cli'].every(
  (binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0,
);

/** Under CI=true, suites that start their own Redis processes run whatever is installed, and fail if they cannot start. */
export const mustRunRedisSuites: boolean = redisBinariesAvailable || process.env.CI === 'true';

/** A port nothing listens on right now (asked of the OS, then released). */
export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One `redis-server` process this test started; killed by its pid, never by name. */
export class RedisProcess {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  /** Runs `redis-server` with `args` (a config file and/or `--option value` pairs) and waits until it serves. */
  static async start(port: number, args: readonly string[]): Promise<RedisProcess> {
    const child = spawn('redis-server', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const process = new RedisProcess(port, child);
    let seen = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`redis-server on ${port} not ready: ${seen}`)),
          READY_WITHIN_MS,
        );
        child.once('error', reject);
        child.once('exit', (code) =>
          reject(new Error(`redis-server on ${port} exited with ${code}: ${seen}`)),
        );
        const watch = (chunk: Buffer): void => {
          seen += chunk.toString('utf8');
          // A data node says it is ready; a Sentinel says it monitors its master.
          if (/Ready to accept connections|\+monitor master/.test(seen)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', watch);
        child.stderr.on('data', watch);
      });
    } catch (error) {
      await process.kill();
      throw error;
    }
    return process;
  }

  /** SIGKILL, as a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** A Redis Cluster of masters on loopback, with no replicas. */
export interface RedisClusterHandle {
  /** Every node; any of them is a seed for a client. */
  nodes: RedisAddress[];
  /** `REDIS_CLUSTER_NODES` for a hub: `127.0.0.1:p1,127.0.0.1:p2,…`. */
  nodesEnv: string;
  /** Kills one node by pid, as a crash (by its port). */
  kill(port: number): Promise<void>;
  /** Kills every node by pid and removes their directory. */
  stop(): Promise<void>;
}

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** How many masters; 3 by default, the fewest `redis-cli --cluster create` accepts. */
  masters?: number;
  /**
   * Whether the cluster refuses every command once a slot has no live master (Redis's default,
   * true). False keeps the surviving nodes serving their own slots after one is killed.
   */
  requireFullCoverage?: boolean;
}

/**
 * Starts `redis-server --cluster-enabled yes` processes on free loopback ports in a temporary
 * directory, joins them with `redis-cli --cluster create`, and resolves once every node reports
 * `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const coverage = options.requireFullCoverage === false ? 'no' : 'yes';
  const dir = await mkdtemp(path.join(tmpdir(), 'switchboard-redis-cluster-'));
  const processes: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
      processes.push(
        await RedisProcess.start(port, [
          ...['--port', String(port), '--bind', '127.0.0.1', '--dir', dir],
          ...['--cluster-enabled', 'yes', '--cluster-port', String(busPort)],
          ...['--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'],
          ...['--cluster-require-full-coverage', coverage, '--save', '', '--appendonly', 'no'],
        ]),
      );
    }
    const nodes = processes.map((p) => ({ host: '127.0.0.1', port: p.port }));
    const list = nodes.map((n) => `${n.host}:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...list, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: READY_WITHIN_MS,
    });
    await Promise.all(nodes.map(waitForClusterOk));
    const kill = async (port: number): Promise<void> => {
      await processes.find((p) => p.port === port)?.kill();
    };
    return { nodes, nodesEnv: list.join(','), kill, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls one node's CLUSTER INFO until every slot is served (the state gossip reaches each node in turn). */
async function waitForClusterOk(node: RedisAddress): Promise<void> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true });
  const deadline = Date.now() + READY_WITHIN_MS;
  try {
    await client.connect();
    for (;;) {
      const info = await client.cluster('INFO');
      if (info.includes('cluster_state:ok')) return;
      if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ok: ${info}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.disconnect();
  }
}
