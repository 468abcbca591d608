import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RedisAddress } from '../../src/kv/index.js';
import { freeLoopbackPort, RedisProcess } from './redis-cluster.js';

/** A master `redis-server` and one Sentinel watching it, on loopback. */
export interface RedisSentinelHandle {
  /** The master's name as the Sentinel knows it (`REDIS_SENTINEL_NAME`). */
  name: string;
  sentinels: RedisAddress[];
  /** `REDIS_SENTINELS` for a hub. */
  sentinelsEnv: string;
  /** The data node's port (tests that look inside it). */
  masterPort: number;
  /** Kills both processes by pid and removes their directory. */
  stop(): Promise<void>;
}

/**
 * Starts a master `redis-server` and a `redis-server --sentinel` monitoring it (quorum 1), each on
 * a free loopback port, in a temporary directory (a Sentinel rewrites its config file, so it must
 * be writable). Resolves once the Sentinel monitors the master, so a client asking it for the
 * master's address gets one.
 */
export async function startRedisSentinel(name = 'sbmaster'): Promise<RedisSentinelHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'switchboard-redis-sentinel-'));
  const processes: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await freeLoopbackPort();
    processes.push(
      await RedisProcess.start(masterPort, [
        ...['--port', String(masterPort), '--bind', '127.0.0.1', '--dir', dir],
        ...['--save', '', '--appendonly', 'no'],
      ]),
    );
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
    const sentinels = [{ host: '127.0.0.1', port: sentinelPort }];
    return { name, sentinels, sentinelsEnv: `127.0.0.1:${sentinelPort}`, masterPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
