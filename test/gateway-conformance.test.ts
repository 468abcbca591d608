import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceFixtures, type ConformanceFixtures } from './peers/conformance-fixtures.js';
import { startTestHub, type TestHub } from './support/hub.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
// Shared with `npm run conformance`: gives the CLI's bundle the `fs.globSync` Node 20 lacks.
const NODE20_PRELOAD = path.join(ROOT, 'conformance/node20-preload.mjs');
/** One whole `--suite all` run; about 10 s here, so this only stops a hung run. */
const RUN_TIMEOUT_MS = 90_000;

/**
 * Scenarios that ask for a fixture tool, prompt or resource by its own name, which `/mcp` exposes
 * as `fixtures__<name>` or `switchboard://fixtures/<uri>` (see the README's "Names").
 */
const NAMES_RENAMED_ITEM = new Set<string>([
  'completion-complete',
  'elicitation-sep1034-defaults',
  'elicitation-sep1330-enums',
  'json-schema-2020-12',
  'prompts-get-embedded-resource',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-with-image',
  'resources-read-binary',
  'resources-read-text',
  'resources-subscribe',
  'resources-templates-read',
  'resources-unsubscribe',
  'tools-call-audio',
  'tools-call-elicitation',
  'tools-call-embedded-resource',
  'tools-call-error',
  'tools-call-image',
  'tools-call-mixed-content',
  'tools-call-sampling',
  'tools-call-simple-text',
  'tools-call-with-logging',
  'tools-call-with-progress',
]);
/** How such a scenario fails: the fixture's own name is unknown to `/mcp`. */
const RENAMED_ITEM_FAILURE = /Unknown (tool|prompt): |Unknown resource|Tool '\w+' not found/;

type Verdict = 'pass' | 'fail';

/** One scenario's outcome, by the CLI's own rule for servers: it passes with no FAILURE check. */
interface ScenarioResult {
  verdict: Verdict;
  /** `<check id>: <message>` of every FAILURE. */
  failures: string[];
  /** `<check id>: <message>` of every WARNING (reported, not counted, as the CLI does). */
  warnings: string[];
}

interface Check {
  id: string;
  status: string;
  description?: string;
  errorMessage?: string;
}

/**
 * `node --import node20-preload.mjs <cli> server --url <url> --suite all -o <dir>`, killed (by its
 * own pid) after {@link RUN_TIMEOUT_MS}. Resolves with its exit code and output.
 */
function runConformance(url: string, outputDir: string): Promise<{ code: number | null; output: string }> {
  const args = ['--import', NODE20_PRELOAD, CLI, 'server', '--url', url, '--suite', 'all', '-o', outputDir];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Every scenario's checks from the CLI's `-o` folder (`server-<scenario>-<timestamp>/checks.json`). */
async function collectResults(outputDir: string): Promise<Map<string, ScenarioResult>> {
  const results = new Map<string, ScenarioResult>();
  for (const entry of (await readdir(outputDir)).sort()) {
    const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(entry)?.[1];
    if (scenario === undefined) continue;
    const checks = JSON.parse(await readFile(path.join(outputDir, entry, 'checks.json'), 'utf8')) as Check[];
    const describeCheck = (c: Check) => `${c.id}: ${c.errorMessage ?? c.description ?? ''}`;
    const failures = checks.filter((c) => c.status === 'FAILURE').map(describeCheck);
    const warnings = checks.filter((c) => c.status === 'WARNING').map(describeCheck);
    results.set(scenario, { verdict: failures.length === 0 ? 'pass' : 'fail', failures, warnings });
  }
  return results;
}

/** A temporary output folder, a run, and its parsed results; the folder is removed afterwards. */
async function conformanceResults(
  url: string,
): Promise<{ results: Map<string, ScenarioResult>; output: string }> {
  const outputDir = await mkdtemp(path.join(tmpdir(), 'switchboard-gateway-conformance-'));
  try {
    const { output } = await runConformance(url, outputDir);
    return { results: await collectResults(outputDir), output };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/** A loopback forwarding proxy, and the requests it has forwarded. */
interface BearerProxy {
  readonly url: string;
  readonly forwarded: number;
  stop(): Promise<void>;
}

/**
 * The conformance CLI has no option to send headers (`conformance server --help`: `--url`,
 * `--scenario`, `--suite`, `--expected-failures`, `-o`, `--spec-version`, `--verbose`), and the
 * hub needs a bearer token. This proxy adds `Authorization` and otherwise forwards byte for byte,
 * streaming both ways (SSE included). It stands in for the hub's own address: a `Host` or `Origin`
 * naming the proxy is rewritten to name the hub, and any other value (the `dns-rebinding-protection`
 * scenario's `evil.example.com`) passes unchanged, so the hub's own check decides.
 */
async function startBearerProxy(target: string, token: string): Promise<BearerProxy> {
  const upstream = new URL(target);
  const server = http.createServer();
  let forwarded = 0;
  let ownHost = '';
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    forwarded += 1;
    const headers: http.OutgoingHttpHeaders = { ...req.headers, authorization: `Bearer ${token}` };
    if (req.headers.host === ownHost) headers.host = upstream.host;
    if (req.headers.origin === `http://${ownHost}`) headers.origin = upstream.origin;
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    // The client went away (a cancelled SSE read): end the hub side too.
    res.on('close', () => out.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const { port } = server.address() as AddressInfo; // a TCP listen always yields AddressInfo
  ownHost = `127.0.0.1:${port}`;
  return {
    url: `http://${ownHost}${upstream.pathname}`,
    get forwarded() {
      return forwarded;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A Markdown table of the three runs: verdict (and warning count) per scenario, and why the hub failed. */
function table(
  direct: Map<string, ScenarioResult>,
  perServer: Map<string, ScenarioResult>,
  aggregated: Map<string, ScenarioResult>,
): string {
  const cell = (result: ScenarioResult | undefined) =>
    result === undefined
      ? 'missing'
      : `${result.verdict}${result.warnings.length > 0 ? ` (${result.warnings.length} warnings)` : ''}`;
  const lines = [
    '| Scenario | Direct | `/mcp/servers/:name` | `/mcp` | Why not (hub) |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const scenario of [...new Set([...direct.keys(), ...perServer.keys()])].sort()) {
    const why = [...(perServer.get(scenario)?.failures ?? []), ...(aggregated.get(scenario)?.failures ?? [])];
    lines.push(
      `| ${scenario} | ${cell(direct.get(scenario))} | ${cell(perServer.get(scenario))} | ${cell(aggregated.get(scenario))} | ${why.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * `conformance server --suite all` against our fixture upstream three ways, at once: directly,
 * through `/mcp/servers/fixtures` and through the aggregated `/mcp`. The per-server endpoint is a
 * transparent proxy, so every scenario that passes directly must pass through it too. `/mcp`
 * renames what it aggregates (`fixtures__test_simple_text`, `switchboard://fixtures/test://…`),
 * while the scenarios ask for the fixture's own names: there, the scenarios that name no tool,
 * prompt or resource must pass as they do directly, and each other one fails only for a name.
 * `CONFORMANCE_TABLE=<file>` writes the table (the README's copy comes from it).
 */
describe('conformance server suite: direct, through /mcp/servers/:serverName and through /mcp', () => {
  let fixtures: ConformanceFixtures;
  let hub: TestHub;
  let proxy: BearerProxy;
  let aggregatedProxy: BearerProxy;
  let direct: Map<string, ScenarioResult>;
  let viaHub: Map<string, ScenarioResult>;
  let aggregated: Map<string, ScenarioResult>;
  let directOutput: string;
  let hubOutput: string;
  let aggregatedOutput: string;

  beforeAll(async () => {
    fixtures = await startConformanceFixtures();
    hub = await startTestHub({
      yaml: `
mcpServers:
  # User-level (startup: false): each user has a connection of their own, so logging/setLevel
  # reaches it; on an app-level server's one shared connection the hub refuses it.
  fixtures:
    type: streamable-http
    url: ${fixtures.url}
    startup: false
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    const token = await hub.userToken('conformance@example.com');
    proxy = await startBearerProxy(`${base}/mcp/servers/fixtures`, token);
    aggregatedProxy = await startBearerProxy(`${base}/mcp`, token);
    // The runs share nothing but the fixture server (a session each per scenario): run them at once.
    const [a, b, c] = await Promise.all([
      conformanceResults(fixtures.url),
      conformanceResults(proxy.url),
      conformanceResults(aggregatedProxy.url),
    ]);
    ({ results: direct, output: directOutput } = a);
    ({ results: viaHub, output: hubOutput } = b);
    ({ results: aggregated, output: aggregatedOutput } = c);
    const markdown = table(direct, viaHub, aggregated);
    console.log(`conformance server --suite all\n${markdown}`);
    if (process.env.CONFORMANCE_TABLE) await writeFile(process.env.CONFORMANCE_TABLE, `${markdown}\n`);
  }, 2 * RUN_TIMEOUT_MS);

  afterAll(async () => {
    await proxy?.stop();
    await aggregatedProxy?.stop();
    await hub?.dispose();
    await fixtures?.stop();
  });

  it('every scenario passes against the fixtures directly', () => {
    expect(direct.size, directOutput).toBeGreaterThanOrEqual(30);
    const failing = [...direct]
      .filter(([, r]) => r.verdict === 'fail')
      .map(([s, r]) => `${s}: ${r.failures.join('; ')}`);
    expect(failing, directOutput).toEqual([]);
  });

  it('the same scenarios ran through the hub, and the requests went through it', () => {
    expect([...viaHub.keys()].sort(), hubOutput).toEqual([...direct.keys()].sort());
    expect([...aggregated.keys()].sort(), aggregatedOutput).toEqual([...direct.keys()].sort());
    expect(proxy.forwarded).toBeGreaterThan(direct.size);
    expect(aggregatedProxy.forwarded).toBeGreaterThan(direct.size);
  });

  it('every scenario passes through /mcp/servers/:name as it does directly (sampling and elicitation relayed)', () => {
    const verdicts = (results: Map<string, ScenarioResult>) =>
      Object.fromEntries([...results].map(([s, r]) => [s, r.verdict]));
    expect(verdicts(viaHub), hubOutput).toEqual(verdicts(direct));
    for (const scenario of ['tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1330-enums'])
      expect(viaHub.get(scenario)?.verdict, scenario).toBe('pass');
  });

  it('through /mcp, every scenario that names nothing the hub renames passes as it does directly', () => {
    const failing = [...aggregated]
      .filter(([scenario, r]) => r.verdict === 'fail' && !NAMES_RENAMED_ITEM.has(scenario))
      .map(([s, r]) => `${s}: ${r.failures.join('; ')}`);
    expect(failing, aggregatedOutput).toEqual([]);
  });

  it('through /mcp, the scenarios that name a fixture item fail only because /mcp renamed it', () => {
    for (const scenario of NAMES_RENAMED_ITEM) {
      const result = aggregated.get(scenario);
      if (result?.verdict !== 'fail') continue; // passing despite the rename is fine
      for (const failure of result.failures) expect(failure, scenario).toMatch(RENAMED_ITEM_FAILURE);
    }
  });

  it('dns-rebinding-protection: the hub answers a foreign Host/Origin with 403 itself', () => {
    expect(viaHub.get('dns-rebinding-protection')).toMatchObject({ verdict: 'pass' });
    expect(aggregated.get('dns-rebinding-protection')).toMatchObject({ verdict: 'pass' });
  });
});
