/**
 * `npm run bench:large`: what a 1 MB tool result costs the hub in allocated memory. The hub runs with
 * bench/allocation-probe.js; a sized-result peer (test/peers/sized-http-server.ts) answers
 * `sized {bytes}` with a text of that many bytes, over streamable HTTP as an SSE stream and as plain
 * JSON. For each path (`/mcp` with the SDK client, REST with fetch; each upstream answer shape) it
 * makes 5 unmeasured calls, then BENCH_LARGE_CALLS (20) measured ones, one at a time, and reports the
 * hub's JS-heap bytes allocated per call as a multiple of the result's size. Reading the total costs
 * allocations of its own, measured on an interval with no call and taken off. Results:
 * `bench/results/large-results.md` and `.json`.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startSizedHttpServer } from '../test/peers/sized-http-server.js';
import { startBenchHub, type BenchHub } from './hub.js';

const BYTES = 1_000_000;
const CALLS = Number(process.env.BENCH_LARGE_CALLS ?? 20);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(import.meta.dirname, 'results'));
const PROBE = path.join(import.meta.dirname, 'allocation-probe.js');
const totals = path.join(tmpdir(), `switchboard-allocations-${process.pid}`);

/** The hub's allocated bytes so far (one more line in the probe's file). */
async function allocated(hub: BenchHub, lines: number): Promise<number> {
  process.kill(hub.pid, 'SIGUSR2');
  for (;;) {
    const text = await readFile(totals, 'utf8').catch(() => '');
    const all = text.split('\n').filter((line) => line !== '');
    if (all.length > lines) return Number(all[lines]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sized = await startSizedHttpServer();
process.env.BENCH_ALLOCATION_FILE = totals;
const hub = await startBenchHub({
  yaml: () => `mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  sse:
    type: streamable-http
    url: ${sized.streamableUrl}
  json:
    type: streamable-http
    url: ${sized.jsonUrl}
`,
  users: ['large@example.com'],
  nodeFlags: ['--import', PROBE],
});
const token = hub.token('large@example.com');
const client = new Client({ name: 'switchboard-bench-large', version: '1.0.0' });
await client.connect(
  new StreamableHTTPClientTransport(new URL(`${hub.base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  }),
);
await client.listTools();

const viaMcp = (server: string) => async () => {
  const result = await client.callTool({ name: `${server}__sized`, arguments: { bytes: BYTES } });
  if (result.isError === true) throw new Error(`${server}: error result`);
};
const viaRest = (server: string) => async () => {
  const response = await fetch(`${hub.base}/api/mcp/${server}/tools/sized/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ arguments: { bytes: BYTES } }),
  });
  if (response.status !== 200) throw new Error(`${server}: ${response.status}`);
  await response.arrayBuffer();
};
const paths: [string, () => Promise<void>][] = [
  ['`/mcp` → SSE answer upstream', viaMcp('sse')],
  ['`/mcp` → JSON answer upstream', viaMcp('json')],
  ['REST → SSE answer upstream', viaRest('sse')],
  ['REST → JSON answer upstream', viaRest('json')],
];
const rows: { path: string; allocatedPerCall: number; timesResult: number }[] = [];
let lines = 0;
try {
  for (const [name, call] of paths) {
    for (let i = 0; i < 5; i++) await call();
    // Reading the total allocates too (the profile the inspector builds): an interval with no call
    // in it measures that, and is taken off the measured one.
    const start = await allocated(hub, lines++);
    const before = await allocated(hub, lines++);
    for (let i = 0; i < CALLS; i++) await call();
    const after = await allocated(hub, lines++);
    const perCall = (after - before - (before - start)) / CALLS;
    rows.push({ path: name, allocatedPerCall: Math.round(perCall), timesResult: perCall / BYTES });
    console.log(`${name}: ${(perCall / BYTES).toFixed(2)}× the result's size allocated per call`);
  }
} finally {
  await client.close();
  await hub.stop();
  await sized.close();
  await rm(totals, { force: true });
}
const table = [
  `Large results ${new Date().toISOString()}: a ${BYTES} B text result, ${CALLS} calls per path, one at a time; the hub's JS-heap bytes allocated per call (V8 sampling heap profiler, collected objects included)`,
  '',
  '| path | allocated per call | × result size |',
  '|---|---|---|',
  ...rows.map(
    (r) => `| ${r.path} | ${(r.allocatedPerCall / 1e6).toFixed(2)} MB | ${r.timesResult.toFixed(2)} |`,
  ),
  '',
].join('\n');
await mkdir(OUT, { recursive: true });
await writeFile(path.join(OUT, 'large-results.md'), table);
await writeFile(
  path.join(OUT, 'large-results.json'),
  `${JSON.stringify({ bytes: BYTES, calls: CALLS, rows }, null, 2)}\n`,
);
