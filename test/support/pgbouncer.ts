import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './mcp-helpers.js';

/** The example configuration the README documents; the starter runs exactly this file. */
export const PGBOUNCER_EXAMPLE_CONFIG = fileURLToPath(new URL('../../deploy/pgbouncer.ini', import.meta.url));

/** Where Debian's package installs PgBouncer; `PGBOUNCER_BIN` overrides it. */
const DEFAULT_BINARY = '/usr/sbin/pgbouncer';
/** Longest wait for PgBouncer to listen, and for it to exit after SIGTERM. */
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** The PgBouncer binary, or null when it is not installed. */
export function pgBouncerBinary(): string | null {
  const binary = process.env.PGBOUNCER_BIN ?? DEFAULT_BINARY;
  return existsSync(binary) ? binary : null;
}

/** A PgBouncer this process started, in transaction pooling mode, on a loopback port. */
export interface PgBouncer {
  /** `postgres://<user>@127.0.0.1:<port>/<database>`: the database through PgBouncer. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** What PgBouncer wrote to stderr so far (its log). */
  log(): string;
  /** Stops it by its pid (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/** What {@link startPgBouncer} needs. */
export interface PgBouncerOptions {
  /** The PostgreSQL server PgBouncer connects to (user and host taken from it; trust auth). */
  postgresUrl: string;
  /** The database to pool; PgBouncer exposes it under the same name. It must exist. */
  database: string;
}

/** The example configuration with this run's values filled in. */
function renderConfig(template: string, values: Record<string, string>): string {
  return template.replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`pgbouncer.ini: no value for ${whole}`);
    return value;
  });
}

/**
 * Starts PgBouncer in the foreground with the repository's example configuration (written to a
 * temporary directory), resolving once it listens. A root test process runs it as `postgres`
 * (PgBouncer refuses to run as root). It is killed when this process exits, whatever the test does.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = pgBouncerBinary();
  if (binary === null) throw new Error('pgbouncer is not installed (set PGBOUNCER_BIN)');
  const target = new URL(options.postgresUrl);
  const user = decodeURIComponent(target.username) || 'postgres';
  const dir = await mkdtemp(path.join(tmpdir(), 'switchboard-pgbouncer-'));
  // PgBouncer may run as another user (below): it must read its files.
  await chmod(dir, 0o755);
  const port = await freePort();
  const authFile = path.join(dir, 'userlist.txt');
  await writeFile(authFile, `"${user}" ""\n`, { mode: 0o644 });
  const config = renderConfig(await readFile(PGBOUNCER_EXAMPLE_CONFIG, 'utf8'), {
    DATABASE: options.database,
    PG_HOST: target.hostname,
    PG_PORT: target.port || '5432',
    LISTEN_ADDR: '127.0.0.1',
    LISTEN_PORT: String(port),
    AUTH_TYPE: 'trust',
    AUTH_FILE: authFile,
  });
  const configFile = path.join(dir, 'pgbouncer.ini');
  await writeFile(configFile, config, { mode: 0o644 });
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  const child = spawn(binary, [...asUser, configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (log += chunk));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  try {
    await listening(child, () => log);
  } catch (err) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const pid = child.pid ?? -1;
  return {
    url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${options.database}`,
    port,
    pid,
    log: () => log,
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when PgBouncer says it listens; rejects when it exits or takes too long. */
function listening(child: ChildProcess, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`pgbouncer did not start:\n${log()}`)), START_TIMEOUT_MS);
    const onData = (): void => {
      if (/LOG process up/.test(log())) finish();
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`pgbouncer exited (${String(code)}) before listening:\n${log()}`));
    function finish(error?: Error): void {
      clearTimeout(timer);
      child.stderr?.removeListener('data', onData);
      child.removeListener('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

/** SIGTERM by pid, then SIGKILL if it has not exited in time; resolves once it has exited. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
