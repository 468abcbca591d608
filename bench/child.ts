/**
 * Child processes of the benchmark: started with `spawn`, ready once a line of their output
 * matches, stopped with SIGTERM then SIGKILL. Every child still running when the benchmark exits is
 * killed, so an interrupted run leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
// Interrupted (Ctrl-C, a timeout's SIGTERM): exit, so the hook above still runs.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** A started child process. */
export class BenchChild {
  #tail = '';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      this.#tail = (this.#tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid`);
    return pid;
  }

  /** The last few kilobytes of its output. */
  output(): string {
    return this.#tail;
  }

  /** Resolves with the first match of `pattern` in its output; rejects if it exits or times out. */
  waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      let seen = '';
      const onData = (chunk: Buffer): void => {
        seen += chunk.toString('utf8');
        const match = pattern.exec(seen);
        if (match !== null) done(() => resolve(match));
      };
      const onExit = (code: number | null): void =>
        done(() =>
          reject(
            new Error(`${this.name} exited (${String(code)}) before ${String(pattern)}:\n${this.#tail}`),
          ),
        );
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`${this.name}: no ${String(pattern)} within ${timeoutMs} ms:\n${this.#tail}`)),
          ),
        timeoutMs,
      );
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.child.stdout?.off('data', onData);
        this.child.stderr?.off('data', onData);
        this.child.off('exit', onExit);
        settle();
      };
      this.child.stdout?.on('data', onData);
      this.child.stderr?.on('data', onData);
      this.child.once('exit', onExit);
    });
  }

  async stop(graceMs = 3_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

/** Starts `command args…` with its output piped (and always drained), stdout unless told otherwise. */
export function startChild(
  name: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  options: { readonly stdout?: 'pipe' | 'ignore' | number } = {},
): BenchChild {
  // A chatty stdout the benchmark does not read (the hub's request log) is discarded or goes to a
  // file descriptor, not drained through the benchmark's own process.
  const stdout = options.stdout ?? 'pipe';
  const child = spawn(command, args, { env, stdio: ['ignore', stdout, 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new BenchChild(name, child);
}
