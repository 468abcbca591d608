import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { childrenOf } from './processes.js';

/** The built hub (`npm run build:hub`); SWITCHBOARD_CLUSTER_MAIN runs another build's main.js. */
const MAIN =
  process.env.SWITCHBOARD_CLUSTER_MAIN ?? fileURLToPath(new URL('../../../dist/main.js', import.meta.url));
const READY_POLL_MS = 100;
// Generous: on a loaded two-core machine a cold start of three instances at once takes long.
const READY_TIMEOUT_MS = 120_000;

/** One hub instance as an operator runs it: `node dist/main.js serve`, in its own process. */
export class HubInstance {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    /** `a`, `b` or `c`: the name HAProxy gives this instance. */
    readonly name: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    /** Where its stdout and stderr go (JSON log lines). */
    readonly logPath: string,
  ) {}

  /** `http://127.0.0.1:<port>`: this instance directly, past the load balancer. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`hub ${this.name} was never started`);
    return pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process and resolves once `/readyz` answers 200. */
  async start(): Promise<void> {
    const log = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, [MAIN, 'serve'], { env: this.env, stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exited = once(child, 'exit').then(() => undefined);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`hub ${this.name} exited during start-up:\n${this.logTail()}`);
      const ready = await fetch(`${this.url}/readyz`).then(
        (res) => res.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
    throw new Error(`hub ${this.name} was not ready in ${READY_TIMEOUT_MS} ms:\n${this.logTail()}`);
  }

  /** The stdio MCP servers (and any other direct children) this instance runs now. */
  children(): Array<{ pid: number; pgid: number; command: string }> {
    return this.running ? childrenOf(this.pid) : [];
  }

  /** Sends `signal` and resolves once the process has exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.running) this.child?.kill(signal);
    await this.exited;
  }

  /** SIGTERM, as a service manager stops it; SIGKILL after `graceMs`. */
  async stop(graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.kill('SIGTERM');
    clearTimeout(timer);
  }

  /** The last lines of its log, for a failure message. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
