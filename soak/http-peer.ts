import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./peers/soak-http-server.mjs', import.meta.url));

/**
 * The soak's streamable HTTP upstream in its own process on a fixed loopback port. When it exits
 * (its `crash` tool), it is started again on the same port, as a supervisor would restart a
 * crashed service; `restarts` counts those.
 */
export class HttpPeer {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarting: Promise<void> = Promise.resolve();
  /** Each time the peer was down: from its exit to when it listened again (ms since epoch). */
  readonly downtimes: { from: number; to: number | undefined }[] = [];

  constructor(readonly port: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  /** Starts the peer; resolves once it listens. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the HTTP peer exited with ${code} at start`)));
      child.stdout.once('data', () => resolve());
    });
    child.removeAllListeners('exit');
    child.once('exit', () => {
      if (!this.stopping) this.restarting = this.restart();
    });
  }

  /** How many times the peer was started again after exiting. */
  get restarts(): number {
    return this.downtimes.length;
  }

  private async restart(): Promise<void> {
    const down: { from: number; to: number | undefined } = { from: Date.now(), to: undefined };
    this.downtimes.push(down);
    await this.start();
    down.to = Date.now();
  }

  /** Stops the peer for good (a restart under way finishes first). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.restarting;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
