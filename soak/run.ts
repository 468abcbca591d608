/**
 * `npm run soak`: the hub under mixed traffic and injected faults for SOAK_MINUTES (default 10),
 * then checks it is back where it started. The hub runs as a user runs it (`node dist/main.js
 * serve`, own process, own data directory, SQLite) with REDIS_URL on a private redis-server the
 * soak restarts once half-way. Upstreams: a stdio server (one shared connection) and a streamable
 * HTTP server in its own process (one connection per user). Faults: upstream crashes, hangs past
 * the call timeout (5 s), results past the 256 KiB limit, the Redis restart; each is counted and every
 * failed call must be explained by one. Results: soak/results/latest.{md,json}; exit 1 on any FAIL.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrivateRedis } from '../test/peers/private-redis.js';
import { freePort } from '../test/support/mcp-helpers.js';
import { tally } from './faults.js';
import { HttpPeer } from './http-peer.js';
import { HubProcess, type HubLimits } from './hub-process.js';
import { resourceChecks, markdown, writeResults, type SoakResult } from './report.js';
import { settle } from './settle.js';
import { snapshot } from './measure.js';
import { latencies, logSummary } from './stats.js';
import { Traffic } from './traffic.js';

const number = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};

const settings = {
  minutes: number('SOAK_MINUTES', 10),
  users: number('SOAK_USERS', 50),
  concurrency: number('SOAK_CONCURRENCY', 12),
  thinkMs: number('SOAK_THINK_MS', 100),
  faultEveryMs: number('SOAK_FAULT_EVERY_MS', 4_000),
  redisDownMs: 3_000,
};
const limits: HubLimits = {
  // Short, so a hang ends soon; longer than 2 s because the machines the soak runs on are often busy.
  callTimeoutMs: number('SOAK_CALL_TIMEOUT_MS', 5_000),
  idleTimeoutMs: 10_000,
  maxResultBytes: 256 * 1024,
};
const RESULTS = fileURLToPath(new URL('./results', import.meta.url));

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-soak-'));
  const redis = await PrivateRedis.start();
  const httpPeer = new HttpPeer(await freePort());
  await httpPeer.start();
  const hub = await HubProcess.prepare({
    dataDir,
    port: await freePort(),
    redisUrl: redis.url,
    httpPeerUrl: httpPeer.url,
    limits,
  });
  try {
    const tokens = await hub.createUsers(settings.users);
    await mkdir(RESULTS, { recursive: true });
    const hubLog = path.join(RESULTS, 'hub.log');
    await hub.start(hubLog);
    const traffic = new Traffic({
      ...settings,
      base: hub.base,
      tokens,
      durationMs: settings.minutes * 60_000,
      bigBytes: limits.maxResultBytes + 64 * 1024,
      httpPeer,
      redis,
    });
    log(`hub pid ${hub.pid} at ${hub.base}; warming up ${settings.users} users`);
    await traffic.warmUp();
    await traffic.closeSessions();
    await settle(hub, limits.idleTimeoutMs);
    const start = await snapshot(hub, redis.url);
    log(`start: ${summary(start)}; traffic for ${settings.minutes} min`);
    const loadAtStart = loadavg()[0] ?? 0;
    await traffic.run();
    await traffic.closeSessions();
    const loadAverage = loadavg()[0] ?? 0;
    log(`traffic done (${traffic.records.length} calls); waiting for idle eviction`);
    await settle(hub, limits.idleTimeoutMs);
    const end = await snapshot(hub, redis.url);
    log(`end: ${summary(end)}`);
    const hubExitCode = await hub.stop();
    const faults = tally(traffic.records, traffic.windows);
    const checks = resourceChecks(start, end);
    const calls = traffic.records;
    const result: SoakResult = {
      startedAt,
      settings: { ...settings, ...limits },
      traffic: {
        calls: calls.length,
        callsPerSecond: calls.length / (settings.minutes * 60),
        byPath: countBy(calls.map((c) => c.path)),
        httpPeerRestarts: httpPeer.restarts,
        latencyMs: latencies(calls),
      },
      loadAverage: { start: loadAtStart, end: loadAverage },
      hubLog: await logSummary(hubLog),
      faults,
      windows: traffic.windows,
      checks,
      start,
      end,
      hubExitCode,
      pass: faults.unexplained.length === 0 && checks.every((c) => c.pass) && hubExitCode === 0,
    };
    await writeResults(RESULTS, result);
    console.log(`\n${markdown(result)}`);
    return result.pass ? 0 : 1;
  } finally {
    await hub.stop();
    await httpPeer.stop();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function summary(s: Awaited<ReturnType<typeof snapshot>>): string {
  return `fds ${s.fds}, children ${s.children}, handles ${s.activeResources}, timers ${s.timers}, heap ${(s.heapUsedBytes / 1048576).toFixed(1)} MiB, Redis keys ${s.redisKeys} (${s.redisKeysWithoutTtl.length} without TTL)`;
}

function log(message: string): void {
  console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

process.exitCode = await main();
