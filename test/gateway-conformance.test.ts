import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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

/** A Markdown table of both runs: verdict (and warning count) per scenario, and why the hub failed. */
function table(direct: Map<string, ScenarioResult>, viaHub: Map<string, ScenarioResult>): string {
  const cell = (result: ScenarioResult | undefined) =>
    result === undefined
      ? 'missing'
      : `${result.verdict}${result.warnings.length > 0 ? ` (${result.warnings.length} warnings)` : ''}`;
  const lines = ['| Scenario | Direct | Through the hub | Why not (hub) |', '| --- | --- | --- | --- |'];
  for (const scenario of [...new Set([...direct.keys(), ...viaHub.keys()])].sort()) {
    const hub = viaHub.get(scenario);
    lines.push(
      `| ${scenario} | ${cell(direct.get(scenario))} | ${cell(hub)} | ${(hub?.failures ?? []).join('; ')} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Issue 6: `conformance server --suite all` against our fixture upstream, directly and through
 * `/mcp/servers/fixtures`. The per-server endpoint is a transparent proxy, so every scenario that
 * passes directly must pass through the hub too.
 */
describe('conformance server suite: direct vs through /mcp/servers/:serverName', () => {
  let fixtures: ConformanceFixtures;
  let hub: TestHub;
  let proxy: BearerProxy;
  let direct: Map<string, ScenarioResult>;
  let viaHub: Map<string, ScenarioResult>;
  let directOutput: string;
  let hubOutput: string;

  beforeAll(async () => {
    fixtures = await startConformanceFixtures();
    hub = await startTestHub({
      yaml: `
mcpServers:
  fixtures:
    type: streamable-http
    url: ${fixtures.url}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    proxy = await startBearerProxy(
      `${base}/mcp/servers/fixtures`,
      await hub.userToken('conformance@example.com'),
    );
    // The two runs share nothing but the fixture server (a session each per scenario): run them at once.
    const [a, b] = await Promise.all([conformanceResults(fixtures.url), conformanceResults(proxy.url)]);
    ({ results: direct, output: directOutput } = a);
    ({ results: viaHub, output: hubOutput } = b);
    console.log(`conformance server --suite all\n${table(direct, viaHub)}`);
  }, 2 * RUN_TIMEOUT_MS);

  afterAll(async () => {
    await proxy?.stop();
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
    expect(proxy.forwarded).toBeGreaterThan(direct.size);
  });

  it('every scenario passes through the hub as it does directly (sampling and elicitation relayed)', () => {
    const verdicts = (results: Map<string, ScenarioResult>) =>
      Object.fromEntries([...results].map(([s, r]) => [s, r.verdict]));
    expect(verdicts(viaHub), hubOutput).toEqual(verdicts(direct));
    for (const scenario of ['tools-call-sampling', 'tools-call-elicitation', 'elicitation-sep1330-enums'])
      expect(viaHub.get(scenario)?.verdict, scenario).toBe('pass');
  });

  it('dns-rebinding-protection: the hub answers a foreign Host/Origin with 403 itself', () => {
    expect(viaHub.get('dns-rebinding-protection')).toMatchObject({ verdict: 'pass' });
  });
});
