// @ts-check
/**
 * `npm run conformance [-- --suite <name> | --scenario <name>] [--timeout <ms>] [--write-results]`
 *
 * Runs the MCP conformance suite's client scenarios (`auth` by default) against
 * `oauth-client.ts`, the hub's own OAuth module behind an MCP client, and prints a result table.
 *
 * 1. The client is transpiled (TypeScript's `transpileModule`, no type check: `npm run typecheck`
 *    and `tsc -p conformance` do that) with `src/` into `node_modules/.cache/`. The suite starts one
 *    client per scenario, all at once; under tsx each spends seconds compiling, and on a small
 *    machine they outlast the CLI's per-client timeout. Compiled, they start in about a second.
 * 2. The CLI runs with `node20-preload.mjs` (Node 20 lacks the `fs.globSync` it imports; its
 *    scenario servers are kept on loopback), writing each scenario's checks to a temporary folder.
 * 3. The table is built from those checks: a scenario passes with no FAILURE and no WARNING (the
 *    CLI's own rule), and a failing one lists the checks that failed and why the client stopped.
 *    `--write-results` also writes it to `conformance/results.md`.
 *
 * The exit code is the CLI's: 0 only when every scenario passed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = 'node_modules/@modelcontextprotocol/conformance/dist/index.js';
const BUILD_DIR = 'node_modules/.cache/switchboard-conformance';
const CLIENT = `${BUILD_DIR}/conformance/oauth-client.js`;
// The CLI's default is 30 s; a cold start of 14 clients at once on two cores can take half of that.
const DEFAULT_TIMEOUT_MS = '60000';

/**
 * @typedef {{ id: string, name: string, description: string, status: string, errorMessage?: string }} Check
 * @typedef {{ scenario: string, checks: Check[], gaveUp: string | undefined }} ScenarioResult
 */

/** @returns {{ selector: string[], timeout: string, writeResults: boolean, label: string }} */
function parseArgs() {
  const args = process.argv.slice(2);
  /** @param {string} flag */
  const valueOf = (flag) => {
    const at = args.indexOf(flag);
    return at === -1 ? undefined : args[at + 1];
  };
  const scenario = valueOf('--scenario');
  const suite = valueOf('--suite') ?? 'auth';
  return {
    selector: scenario === undefined ? ['--suite', suite] : ['--scenario', scenario],
    timeout: valueOf('--timeout') ?? DEFAULT_TIMEOUT_MS,
    writeResults: args.includes('--write-results'),
    label: scenario ?? `suite ${suite}`,
  };
}

/**
 * @param {string} dir
 * @returns {string[]} the `.ts` files under `dir`, tests left out
 */
function sources(dir) {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));
}

/** Transpiles the client and `src/` with the project's compiler options (see step 1). */
function compileClient() {
  /** @type {unknown} */
  const config = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), (file) => ts.sys.readFile(file)).config;
  const json = /** @type {{ compilerOptions?: object } | undefined} */ (config)?.compilerOptions ?? {};
  const { options } = ts.convertCompilerOptionsFromJson(json, ROOT);
  const out = path.join(ROOT, BUILD_DIR);
  fs.rmSync(out, { recursive: true, force: true });
  for (const file of ['conformance/oauth-client.ts', ...sources('src')]) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(ROOT, file), 'utf8'), {
      compilerOptions: { ...options, sourceMap: false, declaration: false },
      fileName: file,
    });
    const target = path.join(out, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
}

/**
 * Runs the CLI; its stdout (progress and its own summary) passes through, its stderr (every
 * scenario's log) goes to a file in `outputDir`.
 * @param {string[]} selector
 * @param {string} timeout
 * @param {string} outputDir
 * @returns {Promise<number>}
 */
function runCli(selector, timeout, outputDir) {
  const args = [
    '--import',
    './conformance/node20-preload.mjs',
    CLI,
    'client',
    '--command',
    `node ${CLIENT}`,
    ...selector,
    '--timeout',
    timeout,
    '-o',
    outputDir,
  ];
  const log = fs.openSync(path.join(outputDir, 'runner-stderr.txt'), 'w');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', log] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(log);
      resolve(code ?? 1);
    });
  });
}

/**
 * Every scenario's checks and the client's last words, from the CLI's `-o` folder
 * (`<outputDir>/auth/<name>-<timestamp>/checks.json`).
 * @param {string} outputDir
 * @returns {ScenarioResult[]}
 */
function collect(outputDir) {
  return fs
    .readdirSync(outputDir, { recursive: true, encoding: 'utf8' })
    .filter((file) => path.basename(file) === 'checks.json')
    .map((file) => {
      const dir = path.dirname(path.join(outputDir, file));
      const scenario = path
        .relative(outputDir, dir)
        .split(path.sep)
        .join('/')
        .replace(/-[0-9TZ-]+$/, '');
      const checks = /** @type {Check[]} */ (readJson(path.join(dir, 'checks.json')));
      const stderr = fs.existsSync(path.join(dir, 'stderr.txt'))
        ? fs.readFileSync(path.join(dir, 'stderr.txt'), 'utf8')
        : '';
      const gaveUp = /gave up: (.*)$/m.exec(stderr)?.[1];
      return { scenario, checks, gaveUp };
    })
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

/**
 * @param {string} file
 * @returns {unknown}
 */
const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** @param {string} text */
const cell = (text) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

/**
 * @param {ScenarioResult[]} results
 * @returns {{ table: string, passed: number, failed: number }}
 */
function tableOf(results) {
  const lines = [
    '| Scenario | Result | Checks (ok / failed / warnings) | Why not |',
    '| --- | --- | --- | --- |',
  ];
  let passed = 0;
  for (const { scenario, checks, gaveUp } of results) {
    const count = (/** @type {string} */ status) => checks.filter((c) => c.status === status).length;
    const bad = checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING');
    const ok = bad.length === 0 && count('SUCCESS') > 0;
    if (ok) passed += 1;
    const why = bad.map(
      (c) =>
        `${c.status === 'WARNING' ? 'warning' : 'failed'} \`${c.id}\`: ${c.errorMessage ?? c.description}`,
    );
    if (!ok && gaveUp !== undefined) why.push(`client: ${gaveUp}`);
    lines.push(
      `| \`${scenario}\` | ${ok ? 'pass' : 'FAIL'} | ${count('SUCCESS')} / ${count('FAILURE')} / ${count('WARNING')} | ${cell(why.join('; '))} |`,
    );
  }
  return { table: lines.join('\n'), passed, failed: results.length - passed };
}

async function main() {
  const { selector, timeout, writeResults, label } = parseArgs();
  compileClient();
  const outputDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-conformance-results-'));
  const exitCode = await runCli(selector, timeout, outputDir);
  const results = collect(outputDir);
  const { table, passed, failed } = tableOf(results);
  const version = /** @type {{ version: string }} */ (readJson(path.join(ROOT, CLI, '../../package.json')))
    .version;
  const heading = `@modelcontextprotocol/conformance ${version}, ${label}, Node ${process.versions.node}: ${passed} passed, ${failed} failed`;
  process.stdout.write(`\n${heading}\n\n${table}\n\nPer-scenario checks and client logs: ${outputDir}\n`);
  if (writeResults) {
    const date = new Date().toISOString().slice(0, 10);
    const document = [
      '# Conformance results',
      '',
      `Observed ${date} with \`npm run conformance\` (${heading}).`,
      '',
      table,
      '',
      "A scenario passes with no failed and no warning check (the suite's own rule). What the hub's",
      'OAuth module would need for the ones that fail: README.md, section "Conformance".',
      '',
    ].join('\n');
    // Written as `npm run format` would leave it, so `npm run lint` stays clean after a rerun.
    const target = path.join(ROOT, 'conformance/results.md');
    const style = (await prettier.resolveConfig(target)) ?? {};
    fs.writeFileSync(target, await prettier.format(document, { ...style, filepath: target }));
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(
      `conformance runner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
