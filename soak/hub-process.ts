import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAdminContext } from '../src/cli/admin-context.js';
import { loadConfig } from '../src/config/index.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PROBE = new URL('./hub-probe.mjs', import.meta.url).href;
const STDIO_PEER = fileURLToPath(new URL('./peers/soak-stdio-server.mjs', import.meta.url));

/** What the soak sets in the hub's switchboard.yaml. */
export interface HubLimits {
  /** Per-server call timeout, ms (a `hang` call ends at it). */
  callTimeoutMs: number;
  /** `mcpSettings.idleTimeout`, ms. */
  idleTimeoutMs: number;
  /** `mcpSettings.maxResultBytes`. */
  maxResultBytes: number;
}

/** What the preload (hub-probe.mjs) answers: heap after GC and live resources by type. */
export interface HubProbe {
  heapUsedBytes: number;
  resources: Record<string, number>;
}

/**
 * The YAML: `soak-stdio` (the hub's child, one connection shared by every user) and `soak-http`
 * (`startup: false`, so one connection per user, which idle eviction must close again).
 */
function hubYaml(httpUrl: string, limits: HubLimits): string {
  return [
    'mcpServers:',
    '  soak-stdio:',
    '    type: stdio',
    `    command: ${JSON.stringify(process.execPath)}`,
    `    args: [${JSON.stringify(STDIO_PEER)}]`,
    `    timeout: ${limits.callTimeoutMs}`,
    '  soak-http:',
    '    type: streamable-http',
    `    url: ${httpUrl}`,
    '    startup: false',
    `    timeout: ${limits.callTimeoutMs}`,
    'mcpSettings:',
    "  allowedDomains: ['127.0.0.1']",
    `  idleTimeout: ${limits.idleTimeoutMs}`,
    `  maxResultBytes: ${limits.maxResultBytes}`,
    '',
  ].join('\n');
}

/** The hub as a user runs it (`node dist/main.js serve`), in its own process and data directory. */
export class HubProcess {
  private child: ChildProcess | undefined;

  private constructor(
    readonly base: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Writes the configuration; the hub is not started yet. */
  static async prepare(options: {
    dataDir: string;
    port: number;
    redisUrl: string;
    httpPeerUrl: string;
    limits: HubLimits;
  }): Promise<HubProcess> {
    const base = `http://127.0.0.1:${options.port}`;
    const env = {
      ...process.env,
      DATA_DIR: options.dataDir,
      SWITCHBOARD_CONFIG: path.join(options.dataDir, 'switchboard.yaml'),
      PORT: String(options.port),
      HOST: '127.0.0.1',
      PUBLIC_URL: base,
      REDIS_URL: options.redisUrl,
    };
    await writeFile(env.SWITCHBOARD_CONFIG, hubYaml(options.httpPeerUrl, options.limits));
    return new HubProcess(base, env);
  }

  /** The hub's pid while it runs. */
  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the hub is not running');
    return pid;
  }

  /**
   * Creates the users in the hub's database and returns a bearer token for each, as the
   * `switchboard users add` and `switchboard token` commands do (one process for all of them).
   */
  async createUsers(count: number): Promise<string[]> {
    const ctx = await openAdminContext(await loadConfig({ env: this.env, cwd: process.cwd() }));
    try {
      const tokens: string[] = [];
      for (let i = 0; i < count; i++) {
        const user = await ctx.repos.users.create({ email: `soak-${i}@example.com`, role: 'USER' });
        tokens.push(await ctx.identity.issueToken(user));
      }
      return tokens;
    } finally {
      await ctx.close();
    }
  }

  /** Starts `node --expose-gc --import hub-probe.mjs dist/main.js serve`; its log goes to `logPath`. */
  async start(logPath: string): Promise<void> {
    const log = openSync(logPath, 'w');
    this.child = spawn(process.execPath, ['--expose-gc', '--import', PROBE, MAIN, 'serve'], {
      env: this.env,
      stdio: ['ignore', log, log, 'ipc'],
    });
    closeSync(log);
    await this.waitUntilReady();
  }

  private async waitUntilReady(): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if (this.child?.exitCode !== null) throw new Error('the hub exited during start-up');
      const ready = await fetch(`${this.base}/readyz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the hub did not become ready in 30 s');
  }

  /** Heap after GC and live resources, from inside the hub (see hub-probe.mjs). */
  async probe(): Promise<HubProbe> {
    const child = this.child;
    if (!child?.send) throw new Error('the hub is not running');
    const answer = once(child, 'message') as Promise<[HubProbe]>;
    child.send('probe');
    const [probe] = await answer;
    return probe;
  }

  /** SIGTERM, as a service manager stops it; resolves with its exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit') as Promise<[number | null]>;
    child.kill('SIGTERM');
    const [code] = await exited;
    return code;
  }
}
