/**
 * `npm run bench:memory`: the hub's memory, two measurements, each on a fresh hub process.
 *
 * 1. Idle per-user connections: BENCH_MEMORY_USERS users (default 1000) each open one connection to
 *    a per-user streamable HTTP echo (an identity placeholder in a header makes it per user) with one
 *    REST call, then stay idle. The hub runs with --expose-gc and bench/gc-probe.js; its heap and RSS
 *    after a full collection are read before (one user already connected, so the code is warm) and
 *    after; the delta ÷ the users added is the cost of one idle user connection.
 * 2. Busy sessions: 16 /mcp sessions (16 users) each keep 4 echo calls of 16 KB in flight for
 *    BENCH_MEMORY_BUSY_MS (default 10 s) on an app-level HTTP echo; the hub's RSS is sampled every
 *    250 ms and the peak and the end are reported, with the calls per second and the heap still in
 *    use after a full collection at the end. Run twice: with V8's default heap limit, and with
 *    `--max-old-space-size` at BENCH_MEMORY_HEAP_CAP_MIB (default 128), because on a machine with
 *    plenty of memory V8 lets the old generation fill with garbage well past what is live before it
 *    collects, and the RSS then measures that choice more than the hub.
 * Writes bench/results/memory.json and memory.md.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { McpCaller, RestCaller } from './callers.js';
import { startChild, type BenchChild } from './child.js';
import { startBenchHub, type BenchHub } from './hub.js';
import { rssMiB } from './proc.js';

const USERS = Number(process.env.BENCH_MEMORY_USERS ?? 1000);
const BUSY_MS = Number(process.env.BENCH_MEMORY_BUSY_MS ?? 10_000);
const BUSY_SESSIONS = 16;
const CALLS_IN_FLIGHT = 4;
const HEAP_CAP_MIB = Number(process.env.BENCH_MEMORY_HEAP_CAP_MIB ?? 128);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(import.meta.dirname, 'results'));
const ECHO = path.resolve(import.meta.dirname, '../test/peers/echo-server.mjs');
const PROBE = path.resolve(import.meta.dirname, 'gc-probe.js');
/** Where the gc probe of each hub this benchmark starts writes its readings (one hub at a time). */
const PROBE_FILE = path.join(tmpdir(), `switchboard-bench-gc-${process.pid}.jsonl`);
const MiB = 1024 * 1024;

interface MemoryUsage {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

const emails = (count: number): string[] => Array.from({ length: count }, (_, i) => `user${i}@example.com`);

function yaml(echoUrl: string): string {
  return `mcpServers:
  peruser:
    type: streamable-http
    url: ${echoUrl}
    headers:
      x-bench-user: '{{LIBRECHAT_USER_ID}}'
  shared:
    type: streamable-http
    url: ${echoUrl}
mcpSettings:
  allowedDomains: ['127.0.0.1']
  rateLimits: {toolCalls: 100000000}
`;
}

/** Asks the hub's gc probe for a collection and its memory right after. */
async function probe(hub: BenchHub): Promise<MemoryUsage> {
  const before = (await readFile(PROBE_FILE, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  process.kill(hub.pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    const lines = (await readFile(PROBE_FILE, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    if (lines.length > before) return JSON.parse(lines[lines.length - 1] ?? '{}') as MemoryUsage;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the hub did not answer the gc probe');
}

/** Runs `task` for every item, `width` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  width: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await task(items[i] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** A fresh hub with the gc probe loaded (see {@link probe}), `nodeFlags` before it. */
async function startProbedHub(
  echoUrl: string,
  users: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<BenchHub> {
  await rm(PROBE_FILE, { force: true });
  process.env.BENCH_GC_PROBE_FILE = PROBE_FILE;
  return startBenchHub({
    yaml: () => yaml(echoUrl),
    users,
    nodeFlags: [...nodeFlags, '--expose-gc', '--import', PROBE],
  });
}

async function idleConnections(echoUrl: string): Promise<Record<string, number>> {
  const users = emails(USERS + 1);
  const hub = await startProbedHub(echoUrl, users);
  try {
    const call = (email: string): Promise<void> =>
      new RestCaller(hub.base, 'peruser', hub.token(email)).call('hello');
    await call(users[0] ?? '');
    const before = await probe(hub);
    const started = performance.now();
    await eachLimited(users.slice(1), 16, call);
    const openMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the last answers' buffers go
    const after = await probe(hub);
    const per = (key: keyof MemoryUsage): number => (after[key] - before[key]) / USERS;
    return {
      users: USERS,
      openSeconds: openMs / 1000,
      heapUsedBeforeMiB: before.heapUsed / MiB,
      heapUsedAfterMiB: after.heapUsed / MiB,
      rssBeforeMiB: before.rss / MiB,
      rssAfterMiB: after.rss / MiB,
      heapBytesPerConnection: per('heapUsed'),
      heapPlusExternalBytesPerConnection: per('heapUsed') + per('external'),
      rssBytesPerConnection: per('rss'),
    };
  } finally {
    await hub.stop();
  }
}

async function busySessions(echoUrl: string, heapCapMiB?: number): Promise<Record<string, number>> {
  const users = emails(BUSY_SESSIONS);
  const cap = heapCapMiB === undefined ? [] : [`--max-old-space-size=${heapCapMiB}`];
  const hub = await startProbedHub(echoUrl, users, cap);
  try {
    const idleRss = await rssMiB(hub.pid);
    const sessions = await Promise.all(
      users.map((email) =>
        McpCaller.connect(`${hub.base}/mcp`, 'shared__echo', {
          headers: { authorization: `Bearer ${hub.token(email)}` },
        }),
      ),
    );
    const text = 'x'.repeat(16 * 1024);
    let peak = 0;
    let calls = 0;
    const sampler = setInterval(() => {
      void rssMiB(hub.pid).then((rss) => {
        peak = Math.max(peak, rss);
      });
    }, 250);
    const started = performance.now();
    const deadline = started + BUSY_MS;
    const worker = async (session: McpCaller): Promise<void> => {
      while (performance.now() < deadline) {
        await session.call(text);
        calls += 1;
      }
    };
    await Promise.all(
      sessions.flatMap((session) => Array.from({ length: CALLS_IN_FLIGHT }, () => worker(session))),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const endRss = await rssMiB(hub.pid);
    const collected = await probe(hub); // the sessions still open
    await Promise.all(sessions.map((session) => session.close()));
    return {
      ...(heapCapMiB === undefined ? {} : { heapCapMiB }),
      sessions: BUSY_SESSIONS,
      callsInFlightPerSession: CALLS_IN_FLIGHT,
      payloadBytes: text.length,
      seconds: BUSY_MS / 1000,
      calls,
      callsPerSecond: calls / elapsedSeconds,
      idleRssMiB: idleRss,
      peakRssMiB: Math.max(peak, endRss),
      endRssMiB: endRss,
      heapUsedAfterGcMiB: collected.heapUsed / MiB,
    };
  } finally {
    await hub.stop();
  }
}

async function main(): Promise<void> {
  const echo: BenchChild = startChild('echo-http', process.execPath, [ECHO, 'http']);
  const echoUrl = `http://127.0.0.1:${(await echo.waitFor(/ECHO_LISTENING (\d+)/))[1]}/mcp`;
  try {
    const idle = await idleConnections(echoUrl);
    const busy = await busySessions(echoUrl);
    const capped = await busySessions(echoUrl, HEAP_CAP_MIB);
    const date = new Date().toISOString();
    const kb = (bytes: number | undefined): string => ((bytes ?? Number.NaN) / 1024).toFixed(1);
    const mib = (value: number | undefined): string => (value ?? Number.NaN).toFixed(0);
    const markdown = `Hub memory ${date}

| measurement | value | target |
|---|---|---|
| heap per idle per-user HTTP connection (${idle.users} users, after GC) | ${kb(idle.heapBytesPerConnection)} KB | ≤ 100 KB |
| heap + external per idle connection | ${kb(idle.heapPlusExternalBytesPerConnection)} KB | |
| RSS per idle connection | ${kb(idle.rssBytesPerConnection)} KB | |
| hub RSS before → after the ${idle.users} connections | ${mib(idle.rssBeforeMiB)} → ${mib(idle.rssAfterMiB)} MiB | |
| hub RSS, ${busy.sessions} busy /mcp sessions (${busy.callsInFlightPerSession} calls of 16 KB in flight each, ${busy.seconds} s), peak | ${mib(busy.peakRssMiB)} MiB | ≤ 200 MB |
| same, at the end / idle before | ${mib(busy.endRssMiB)} / ${mib(busy.idleRssMiB)} MiB | |
| same, calls/s; heap in use after a full GC at the end | ${busy.callsPerSecond?.toFixed(0)}; ${mib(busy.heapUsedAfterGcMiB)} MiB | |
| same with \`--max-old-space-size=${HEAP_CAP_MIB}\`, peak RSS | ${mib(capped.peakRssMiB)} MiB | ≤ 200 MB |
| same, at the end / idle before | ${mib(capped.endRssMiB)} / ${mib(capped.idleRssMiB)} MiB | |
| same, calls/s; heap in use after a full GC at the end | ${capped.callsPerSecond?.toFixed(0)}; ${mib(capped.heapUsedAfterGcMiB)} MiB | |
`;
    console.log(`\n${markdown}`);
    await mkdir(OUT, { recursive: true });
    await writeFile(
      path.join(OUT, 'memory.json'),
      `${JSON.stringify({ date, idle, busy, capped }, null, 2)}\n`,
    );
    await writeFile(path.join(OUT, 'memory.md'), markdown);
  } finally {
    await echo.stop();
    await rm(PROBE_FILE, { force: true });
  }
}

await main();
