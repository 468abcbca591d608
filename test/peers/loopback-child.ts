import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Absolute path of the `node --import` preload that pins every TCP listen to 127.0.0.1. */
export const FORCE_LOOPBACK_PRELOAD = fileURLToPath(new URL('./force-loopback.mjs', import.meta.url));

/** Line the preload writes to stderr once a TCP server listens (see force-loopback.mjs). */
const LISTENING_LINE = /^SWITCHBOARD_PEER_LISTENING (\d+)$/m;
/** How much of the child's output is kept for error messages. */
const OUTPUT_TAIL_CHARS = 8_000;

/** What to start: a Node script run through the loopback preload. */
export interface LoopbackChildOptions {
  /** Arguments after `node --import <preload>`: the script and its own arguments. */
  readonly args: readonly string[];
  /** Extra environment on top of the test process' own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Give up if the child does not listen within this time. Default 15 s. */
  readonly startTimeoutMs?: number;
}

/** A child process listening on 127.0.0.1. */
export interface LoopbackChild {
  /** The port the child listens on (picked by the kernel when the child was given port 0). */
  readonly port: number;
  /** The child's process id. */
  readonly pid: number;
  /** The last few kilobytes of the child's stdout and stderr, for diagnostics. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once the child has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Children still running, killed when the test process exits so none outlive a run. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  const gone = waitForExit(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `node --import force-loopback.mjs …args` and resolves once it listens on 127.0.0.1.
 * Pass `PORT=0` (or the program's own equivalent) in `env` so the kernel picks a free port; the
 * preload reports the real one. The child also exits by itself if this process disappears.
 */
export async function startLoopbackChild(options: LoopbackChildOptions): Promise<LoopbackChild> {
  installExitHook();
  const child = spawn(process.execPath, ['--import', FORCE_LOOPBACK_PRELOAD, ...options.args], {
    env: { ...process.env, ...options.env, SWITCHBOARD_PEER_PARENT_PID: String(process.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));

  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  // Always drain both pipes: a full pipe would block the child (stdout writes to pipes are synchronous on Linux).
  child.stdout?.on('data', keep);

  const timeoutMs = options.startTimeoutMs ?? 15_000;
  const port = await new Promise<number>((resolve, reject) => {
    let stderrSeen = '';
    const fail = (reason: string): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${reason}; output:\n${tail}`));
    };
    const onStderr = (chunk: Buffer): void => {
      stderrSeen += chunk.toString('utf8');
      const match = LISTENING_LINE.exec(stderrSeen);
      if (match?.[1] !== undefined) {
        cleanup();
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`peer exited before listening (code ${String(code)}, signal ${String(signal)})`);
    const onError = (error: Error): void => fail(`peer could not start: ${error.message}`);
    const timer = setTimeout(() => fail(`peer did not listen within ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stderr?.on('data', keep);
    child.stderr?.on('data', onStderr);
    child.once('exit', onExit);
    child.once('error', onError);
  });

  const pid = child.pid;
  if (pid === undefined) throw new Error('peer has no pid');
  return {
    port,
    pid,
    output: () => tail,
    stop: (graceMs = 3_000) => stopChild(child, graceMs),
  };
}
