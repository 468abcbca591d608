import { readdir, readFile, readlink } from 'node:fs/promises';
import { Redis } from 'ioredis';
import type { HubProcess } from './hub-process.js';

/** One look at the hub from outside (/proc, Redis) and inside (the preload's probe). */
export interface Snapshot {
  at: string;
  /** Open file descriptors of the hub process, and by kind (socket, pipe, anon_inode, file…). */
  fds: number;
  fdKinds: Record<string, number>;
  /** Descendant processes of the hub (its stdio servers and theirs). */
  children: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Resources keeping the hub's event loop alive, by type (`Timeout` are timers). */
  resources: Record<string, number>;
  /** Sum of `resources`. */
  activeResources: number;
  timers: number;
  redisKeys: number;
  /** Keys of the private Redis with no expiry (TTL -1). */
  redisKeysWithoutTtl: string[];
}

async function fdKinds(pid: number): Promise<Record<string, number>> {
  const kinds: Record<string, number> = {};
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => 'gone');
    // "socket:[123]", "pipe:[456]", "anon_inode:[eventfd]", or a path.
    const kind = /^([a-z_]+):/.exec(target)?.[1] ?? 'file';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Every process whose parent chain reaches `pid` (read from /proc/<n>/stat). */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // Fields after the command (which may hold spaces) start after the last ')'; ppid is the 2nd.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(Number(name), ppid);
  }
  const found: number[] = [];
  const within = new Set([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [child, parent] of parents) {
      if (within.has(parent) && !within.has(child)) {
        within.add(child);
        found.push(child);
        grew = true;
      }
    }
  }
  return found;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** Every key of the Redis (SCAN) and those without an expiry (TTL -1). */
async function redisKeys(redisUrl: string): Promise<{ total: number; withoutTtl: string[] }> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    let total = 0;
    const withoutTtl: string[] = [];
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      total += keys.length;
      for (const key of keys) if ((await redis.ttl(key)) === -1) withoutTtl.push(key);
    } while (cursor !== '0');
    return { total, withoutTtl: withoutTtl.sort() };
  } finally {
    redis.disconnect();
  }
}

/** Takes a snapshot of the running hub. */
export async function snapshot(hub: HubProcess, redisUrl: string): Promise<Snapshot> {
  const probe = await hub.probe();
  const kinds = await fdKinds(hub.pid);
  const keys = await redisKeys(redisUrl);
  return {
    at: new Date().toISOString(),
    fds: Object.values(kinds).reduce((a, b) => a + b, 0),
    fdKinds: kinds,
    children: (await descendants(hub.pid)).length,
    rssBytes: await rssBytes(hub.pid),
    heapUsedBytes: probe.heapUsedBytes,
    resources: probe.resources,
    activeResources: Object.values(probe.resources).reduce((a, b) => a + b, 0),
    timers: probe.resources.Timeout ?? 0,
    redisKeys: keys.total,
    redisKeysWithoutTtl: keys.withoutTtl,
  };
}
