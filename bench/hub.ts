/**
 * The hub as a user runs it, for the benchmark: `node dist/main.js serve` in its own process on
 * 127.0.0.1 (embedded SQLite, default log level, stdout discarded), with a YAML file the caller
 * writes and users made beforehand through the same code as `switchboard users add` / `token`.
 */
import { openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../test/support/mcp-helpers.js';
import { startChild, type BenchChild } from './child.js';

/** The hub's entry point: the build of this checkout, or BENCH_HUB_MAIN (another build, to compare). */
const MAIN = path.resolve(process.env.BENCH_HUB_MAIN ?? path.join(import.meta.dirname, '../dist/main.js'));

/** Options of {@link startBenchHub}. */
export interface BenchHubOptions {
  /** The YAML file's text, given the hub's base URL. */
  readonly yaml: (base: string) => string;
  /** Users to make, by email; each gets a bearer token. */
  readonly users: readonly string[];
  /** Extra `node` flags before the entry point (--cpu-prof, --expose-gc, --import …). */
  readonly nodeFlags?: readonly string[];
  /** The build's `main.js` (default: {@link MAIN}). */
  readonly main?: string;
}

/** A running hub process. */
export class BenchHub {
  constructor(
    readonly base: string,
    readonly process: BenchChild,
    /** Bearer token per email. */
    readonly tokens: ReadonlyMap<string, string>,
    private readonly dataDir: string,
  ) {}

  get pid(): number {
    return this.process.pid;
  }

  token(email: string): string {
    const token = this.tokens.get(email);
    if (token === undefined) throw new Error(`no token for ${email}`);
    return token;
  }

  /** SIGTERM (the hub shuts down, writing its CPU profile if it has one), then removes its data. */
  async stop(): Promise<void> {
    await this.process.stop(20_000);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The parts of the build's admin context (dist/cli/admin-context.js) used to make users. */
interface AdminContext {
  readonly repos: { readonly users: { create(input: { email: string; role: 'USER' }): Promise<unknown> } };
  readonly identity: { issueToken(user: unknown): Promise<string> };
  close(): Promise<void>;
}

interface BuildModules {
  readonly loadConfig: (options: { env: Record<string, string>; cwd: string }) => Promise<unknown>;
  readonly openAdminContext: (config: unknown) => Promise<AdminContext>;
}

/**
 * Users and tokens made by the same build the hub runs (its migrations and secrets), as
 * `switchboard users add` and `switchboard token` would, but in one process for any number of users.
 */
async function makeUsers(
  main: string,
  env: Record<string, string>,
  emails: readonly string[],
): Promise<Map<string, string>> {
  const dist = path.dirname(main);
  const load = async (file: string): Promise<Record<string, unknown>> =>
    (await import(pathToFileURL(path.join(dist, file)).href)) as Record<string, unknown>;
  const build = {
    ...(await load('config/index.js')),
    ...(await load('cli/admin-context.js')),
  } as unknown as BuildModules;
  const config = await build.loadConfig({ env, cwd: env.DATA_DIR ?? '.' });
  const admin = await build.openAdminContext(config);
  const tokens = new Map<string, string>();
  try {
    for (const email of emails) {
      const user = await admin.repos.users.create({ email, role: 'USER' });
      tokens.set(email, await admin.identity.issueToken(user));
    }
  } finally {
    await admin.close();
  }
  return tokens;
}

async function waitUntilReady(base: string, hub: BenchChild): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the hub did not become ready:\n${hub.output()}`);
}

export async function startBenchHub(options: BenchHubOptions): Promise<BenchHub> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    SWITCHBOARD_CONFIG: path.join(dataDir, 'switchboard.yaml'),
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: base,
  };
  await writeFile(env.SWITCHBOARD_CONFIG ?? '', options.yaml(base));
  const main = options.main === undefined ? MAIN : path.resolve(options.main);
  const tokens = await makeUsers(main, env, options.users);
  const hub = startChild(
    'hub',
    process.execPath,
    [...(options.nodeFlags ?? []), main, 'serve'],
    { ...process.env, ...env },
    // BENCH_HUB_LOG=<file> keeps the hub's log there; by default it is discarded.
    { stdout: process.env.BENCH_HUB_LOG ? openSync(process.env.BENCH_HUB_LOG, 'a') : 'ignore' },
  );
  await waitUntilReady(base, hub);
  return new BenchHub(base, hub, tokens, dataDir);
}
