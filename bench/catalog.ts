/**
 * `npm run bench:catalog`: the aggregated `tools/list` of `/mcp` over 20 servers (issue 15's catalog
 * target: warm ≤ 1 ms in the hub; cold about the slowest upstream, not the sum).
 *
 * The upstreams (bench/catalog-upstreams.mjs, one process) answer `tools/list` after 10, 20, …,
 * 200 ms: the slowest takes 200 ms, all of them one after another 2 100 ms. Each round starts a
 * fresh hub process (as a user runs it; the servers have `startup: false`, so nothing is listed
 * before the client asks), opens an SDK client session on `/mcp` and times:
 * - cold: the session's first `tools/list`, which connects to and lists all 20 servers;
 * - warm: BENCH_CATALOG_LISTS (default 500) further lists, one at a time, with the hub's own CPU
 *   per list read from /proc/<pid>/stat (the client's time includes its own HTTP round trip, so
 *   the hub's CPU is the in-process figure).
 * Writes bench/results/catalog.json and catalog.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startChild } from './child.js';
import { startBenchHub } from './hub.js';
import { cpuMs } from './proc.js';
import { quantile } from './stats.js';

const SERVERS = 20;
const STEP_MS = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LISTS = Number(process.env.BENCH_CATALOG_LISTS ?? 500);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(import.meta.dirname, 'results'));
const USER = 'catalog@example.com';

function yaml(upstream: string): string {
  const servers = Array.from(
    { length: SERVERS },
    (_, i) => `  s${i}:\n    type: streamable-http\n    url: ${upstream}/mcp/${i}\n    startup: false\n`,
  ).join('');
  return `mcpServers:\n${servers}mcpSettings:\n  allowedDomains: ['127.0.0.1']\n`;
}

/**
 * The hub's own time for `POST /mcp` requests so far, from its request-duration histogram: Fastify's
 * time from the request's arrival to the end of its response, with no network or client in it.
 */
async function mcpPostSeconds(base: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const read = (suffix: string): number => {
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith(`switchboard_http_request_duration_seconds_${suffix}{`) &&
          l.includes('method="POST"') &&
          l.includes('route="/mcp"') &&
          l.includes('status="200"'),
      );
    return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { sum: read('sum'), count: read('count') };
}

interface Round {
  coldMs: number;
  warmP50Ms: number;
  warmP99Ms: number;
  hubCpuMsPerWarmList: number;
  /** Mean of the hub's own request time over the warm lists (NaN when the histogram had no line). */
  hubMsPerWarmList: number;
  tools: number;
}

async function round(upstream: string): Promise<Round> {
  const hub = await startBenchHub({ yaml: () => yaml(upstream), users: [USER] });
  const client = new Client({ name: 'catalog-bench', version: '1.0.0' });
  try {
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${hub.base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${hub.token(USER)}` } },
      }),
    );
    const coldStart = performance.now();
    const cold = await client.listTools();
    const coldMs = performance.now() - coldStart;
    if (cold.tools.length !== SERVERS * 5) throw new Error(`cold list had ${cold.tools.length} tools`);
    const times: number[] = [];
    const cpuBefore = await cpuMs(hub.pid);
    const timeBefore = await mcpPostSeconds(hub.base);
    for (let i = 0; i < LISTS; i++) {
      const start = performance.now();
      const warm = await client.listTools();
      times.push(performance.now() - start);
      if (warm.tools.length !== SERVERS * 5) throw new Error(`warm list had ${warm.tools.length} tools`);
    }
    const hubCpuMsPerWarmList = ((await cpuMs(hub.pid)) - cpuBefore) / LISTS;
    const timeAfter = await mcpPostSeconds(hub.base);
    const hubMsPerWarmList = ((timeAfter.sum - timeBefore.sum) * 1000) / (timeAfter.count - timeBefore.count);
    times.sort((a, b) => a - b);
    return {
      coldMs,
      warmP50Ms: quantile(times, 0.5),
      warmP99Ms: quantile(times, 0.99),
      hubCpuMsPerWarmList,
      hubMsPerWarmList,
      tools: cold.tools.length,
    };
  } finally {
    await client.close().catch(() => undefined);
    await hub.stop();
  }
}

async function main(): Promise<void> {
  const upstreams = startChild('catalog-upstreams', process.execPath, [
    path.join(import.meta.dirname, 'catalog-upstreams.mjs'),
  ]);
  const port = Number((await upstreams.waitFor(/CATALOG_LISTENING (\d+)/))[1]);
  const rounds: Round[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const result = await round(`http://127.0.0.1:${port}`);
      rounds.push(result);
      console.error(
        `round ${i + 1}: cold ${result.coldMs.toFixed(0)} ms, warm p50 ${result.warmP50Ms.toFixed(2)} ms, hub CPU ${result.hubCpuMsPerWarmList.toFixed(3)} ms/list, hub time ${result.hubMsPerWarmList.toFixed(3)} ms/list`,
      );
    }
  } finally {
    await upstreams.stop();
  }
  const slowest = SERVERS * STEP_MS;
  const sum = (SERVERS * (SERVERS + 1) * STEP_MS) / 2;
  const rows = rounds
    .map(
      (r, i) =>
        `| ${i + 1} | ${r.tools} | ${r.coldMs.toFixed(0)} | ${(r.coldMs / slowest).toFixed(2)} | ${r.warmP50Ms.toFixed(2)} | ${r.warmP99Ms.toFixed(2)} | ${r.hubMsPerWarmList.toFixed(3)} | ${r.hubCpuMsPerWarmList.toFixed(3)} |`,
    )
    .join('\n');
  const markdown = `Catalog benchmark ${new Date().toISOString()}: ${SERVERS} servers, tools/list answered after ${STEP_MS}–${slowest} ms (slowest ${slowest} ms, sum ${sum} ms), ${LISTS} warm lists per round

| round | tools | cold ms | cold ÷ slowest | warm p50 ms (client) | warm p99 ms (client) | hub ms per warm list (in-process) | hub CPU ms per warm list |
|---|---|---|---|---|---|---|---|
${rows}
`;
  await mkdir(OUT, { recursive: true });
  await writeFile(
    path.join(OUT, 'catalog.json'),
    `${JSON.stringify({ servers: SERVERS, stepMs: STEP_MS, slowestMs: slowest, sumMs: sum, lists: LISTS, rounds }, null, 2)}\n`,
  );
  await writeFile(path.join(OUT, 'catalog.md'), markdown);
  console.log(markdown);
}

await main();
