import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** The configuration operators use (README "Running at scale"); only ports and paths come from here. */
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../../deploy/haproxy.cfg', import.meta.url));
export const HAPROXY_BINARY = '/usr/sbin/haproxy';
const START_TIMEOUT_MS = 10_000;

/** What the admin socket says of one backend server (HAProxy's `show stat` `status` column). */
export type ServerStatus = string;

/** Debian's HAProxy running deploy/haproxy.cfg in the foreground, in front of the hubs. */
export class LoadBalancer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    /** host:port of instances a, b and c, in that order. */
    private readonly hubs: readonly [string, string, string],
    private readonly adminSocket: string,
    private readonly logPath: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts HAProxy and resolves once every instance is UP behind it. */
  async start(): Promise<void> {
    const log = openSync(this.logPath, 'a');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      SB_LB_BIND: `127.0.0.1:${this.port}`,
      SB_HUB_A: this.hubs[0],
      SB_HUB_B: this.hubs[1],
      SB_HUB_C: this.hubs[2],
      SB_LB_ADMIN_SOCK: this.adminSocket,
    };
    // -db: stay in the foreground, no daemon (the harness owns the process).
    const child = spawn(HAPROXY_BINARY, ['-db', '-f', HAPROXY_CONFIG], { env, stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    this.exited = once(child, 'exit').then(() => undefined);
    await this.waitFor((states) => Object.values(states).filter((s) => s === 'UP').length === 3);
  }

  /** Polls the admin socket until `done` holds for the backend's server states. */
  async waitFor(
    done: (states: Record<string, ServerStatus>) => boolean,
    timeoutMs = START_TIMEOUT_MS,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, ServerStatus> = {};
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null) throw new Error(`haproxy exited:\n${this.logText()}`);
      last = await this.serverStates().catch(() => ({}));
      if (done(last)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`haproxy: servers ${JSON.stringify(last)} after ${timeoutMs} ms:\n${this.logText()}`);
  }

  /** `{a: 'UP', b: 'DOWN', …}` from `show stat` on the admin socket. */
  async serverStates(): Promise<Record<string, ServerStatus>> {
    const csv = await this.admin('show stat');
    const lines = csv.split('\n');
    const header = (lines[0] ?? '').replace(/^# /, '').split(',');
    const [px, sv, status] = ['pxname', 'svname', 'status'].map((name) => header.indexOf(name));
    const states: Record<string, ServerStatus> = {};
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const server = cells[sv!] ?? '';
      if (cells[px!] === 'hubs' && server !== 'BACKEND' && server !== '')
        states[server] = cells[status!] ?? '';
    }
    return states;
  }

  /** One command on the admin socket; resolves with the whole answer. */
  private admin(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.adminSocket);
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.once('error', reject);
      socket.once('end', () => resolve(answer));
      socket.once('connect', () => socket.end(`${command}\n`));
    });
  }

  async stop(): Promise<void> {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }

  private logText(): string {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-3000);
    } catch {
      return '(no log)';
    }
  }
}
