import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { type Clock, parseJsonRpcMessage } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { BoundedLineReader } from './bounded-lines.js';
import { DEFAULT_MAX_RESULT_BYTES, idFromEnds, resultTooLargeResponse } from './result-limit.js';
import { StderrRelay, type StderrLimits } from './stderr-relay.js';

/** `child_process.spawn` as the transport uses it; tests may wrap it to watch what is started. */
export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

/** Options of a {@link ProcessGroupStdioTransport}. */
export interface StdioTransportOptions {
  command: string;
  args: readonly string[];
  /** The child's whole environment (see `stdioChildEnv`): nothing else is inherited. */
  env: Record<string, string>;
  cwd?: string;
  logger: Logger;
  clock: Clock;
  spawn?: SpawnFunction;
  /**
   * Bound of one JSON-RPC line on stdout (the hub's `maxResultBytes`, default 10 MiB). A longer
   * line is skipped, and the one request it answered fails; the child and every other call go on.
   */
  maxLineBytes?: number;
  /** Non-JSON lines tolerated on stdout before the transport gives up (SX-07). Default 100. */
  maxBadLines?: number;
  /** How long the child may take to exit by itself once stdin ends. Default 300 ms. */
  stdinGraceMs?: number;
  /** How long the group may take to exit after SIGTERM before SIGKILL. Default 2 s. */
  termGraceMs?: number;
  stderr?: StderrLimits;
}

/** After `exit`, how long to wait for the pipes to drain (a last answer may still be in them). */
const PIPES_DRAIN_MS = 500;
/** How much of a bad stdout line reaches the log. */
const BAD_LINE_LOG_CHARS = 200;

/**
 * A stdio client transport that owns its child's whole process group. Unlike the SDK's
 * `StdioClientTransport` it spawns the child detached (its own group) with an environment it
 * is given whole, and on close signals the group, so grandchildren die with the child; it also
 * bounds stdout lines and relays stderr to the log.
 */
export class ProcessGroupStdioTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  private readonly options: StdioTransportOptions;
  private readonly stdout: BoundedLineReader;
  /** Ids of the requests sent and not yet answered. */
  private readonly unanswered = new Set<RequestId>();
  private readonly stderr: StderrRelay;
  private child: ChildProcess | undefined;
  private exitSeen = false;
  /** stdin is corked while messages gather for one write (see `send`). */
  private corked = false;
  private readonly exited: Promise<void>;
  private markExited!: () => void;
  private readonly finished: Promise<void>;
  private markFinished!: () => void;
  private finishTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  /** stdout can no longer be trusted (or the transport is done): ignore what arrives. */
  private broken = false;
  private done = false;
  private badLines = 0;

  constructor(options: StdioTransportOptions) {
    this.options = options;
    this.stdout = new BoundedLineReader(options.maxLineBytes ?? DEFAULT_MAX_RESULT_BYTES, {
      line: (line) => {
        if (!this.broken) this.onLine(line.toString('utf8').replace(/\r$/, ''));
      },
      oversized: (head, tail) => {
        if (!this.broken) this.onOversized(head.toString('utf8'), tail.toString('utf8'));
      },
    });
    this.stderr = new StderrRelay(options.logger, options.clock, options.stderr);
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.finished = new Promise((resolve) => (this.markFinished = resolve));
  }

  /** The child's pid (also its process group id) once started. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the child; resolves once it runs, rejects when it cannot be started. */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('ProcessGroupStdioTransport already started');
    const { command, args, env, cwd } = this.options;
    const spawnOptions: SpawnOptions = {
      // No shell: arguments reach the program literally (SX-03).
      shell: false,
      // Its own process group, so close() can signal the child and every descendant at once.
      detached: true,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      ...(cwd === undefined ? {} : { cwd }),
    };
    const child = (this.options.spawn ?? nodeSpawn)(command, args, spawnOptions);
    this.child = child;
    this.wire(child);
    await new Promise<void>((resolve, reject) => {
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve();
      };
      const onError = (error: Error): void => {
        child.off('spawn', onSpawn);
        reject(error);
      };
      child.once('spawn', onSpawn);
      child.once('error', onError);
    });
  }

  /** Writes one message as a line; rejects once the child is gone. */
  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin == null || this.closing !== undefined || this.exitSeen || !stdin.writable) {
      return Promise.reject(new Error('Not connected'));
    }
    if ('method' in message && 'id' in message) this.unanswered.add(message.id);
    // A cancelled request may never be answered (MCP basic/utilities/cancellation).
    else if ('method' in message && message.method === 'notifications/cancelled') {
      const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (cancelled !== undefined) this.unanswered.delete(cancelled);
    }
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      const uncork = (): void => {
        this.corked = false;
        stdin.uncork();
      };
      // With other requests in flight, more messages are likely on their way in this turn of the
      // event loop: they all leave in one write after its I/O callbacks, which also wakes the child
      // once instead of once per message. A lone request leaves at the end of this tick.
      if (this.unanswered.size > 1) setImmediate(uncork);
      else process.nextTick(uncork);
    }
    return new Promise((resolve, reject) => {
      // The callback fires once the line is handed to the OS, or with an error when the pipe is
      // destroyed (the child died), so a full pipe cannot leave this pending past the child.
      stdin.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Ends stdin, then SIGTERM to the group, then SIGKILL to the group after the grace period;
   * resolves once the child has exited. The group gets its SIGKILL even when the child left on
   * its own, for descendants that ignored SIGTERM.
   */
  close(): Promise<void> {
    this.closing ??= this.terminate();
    return this.closing;
  }

  private async terminate(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) {
      // Never started, or failed to spawn: there is no process to stop.
      this.exitSeen = true;
      this.markExited();
      this.finish();
      return;
    }
    try {
      if (!this.exitSeen) {
        child.stdin?.end();
        if (!(await this.waitForExit(this.options.stdinGraceMs ?? 300))) {
          this.signalGroup(child, 'SIGTERM');
          if (!(await this.waitForExit(this.options.termGraceMs ?? 2_000)))
            this.signalGroup(child, 'SIGKILL');
        }
      } else {
        this.signalGroup(child, 'SIGTERM');
      }
      await this.exited;
    } finally {
      this.signalGroup(child, 'SIGKILL');
      await this.finished;
    }
  }

  private wire(child: ChildProcess): void {
    child.stdout?.on('data', (chunk: Buffer) => this.onStdout(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk));
    // Pipe errors (EPIPE once the child is gone) are expected on the way down; without a
    // listener they would crash the hub.
    const pipeError = (error: Error): void => this.options.logger.debug({ err: error }, 'stdio pipe error');
    child.stdin?.on('error', pipeError);
    child.stdout?.on('error', pipeError);
    child.stderr?.on('error', pipeError);
    child.on('error', (error) => {
      if (child.pid === undefined)
        this.onExit(); // never started: nothing will exit
      else this.onerror?.(error);
    });
    child.once('exit', (code, signal) => {
      this.options.logger.debug({ pid: child.pid, code, signal }, 'stdio child exited');
      this.onExit();
    });
    // All pipes closed: nothing more can arrive.
    child.once('close', () => this.finish());
  }

  private onExit(): void {
    if (this.exitSeen) return;
    this.exitSeen = true;
    this.markExited();
    // A child that died by itself may leave descendants behind in its group: nothing will talk to them.
    if (this.closing === undefined && this.child !== undefined) this.signalGroup(this.child, 'SIGKILL');
    // Descendants outside the group could hold the pipes open; do not wait on them for long.
    this.finishTimer = setTimeout(() => this.finish(), PIPES_DRAIN_MS);
  }

  /** Runs once: releases the pipes and timers, and tells the client the transport is closed. */
  private finish(): void {
    if (this.finishTimer !== undefined) clearTimeout(this.finishTimer);
    this.finishTimer = undefined;
    // Node emits 'close' after 'exit'; a spawn failure goes through onExit() first as well.
    if (!this.exitSeen || this.done) return;
    this.done = true;
    this.broken = true;
    const child = this.child;
    child?.stdin?.destroy();
    child?.stdout?.destroy();
    child?.stderr?.destroy();
    this.stderr.end();
    this.markFinished();
    this.onclose?.();
  }

  private onStdout(chunk: Buffer): void {
    if (!this.broken) this.stdout.push(chunk);
  }

  /**
   * A line past the limit was skipped: the request it answered fails with an error response in
   * its place. Its id is read from the line's ends; failing that, a lone unanswered request is
   * the one. Otherwise nothing can be told, and the call concerned ends at its timeout.
   */
  private onOversized(head: string, tail: string): void {
    const maxBytes = this.options.maxLineBytes ?? DEFAULT_MAX_RESULT_BYTES;
    const read = idFromEnds(head, tail);
    const only = this.unanswered.size === 1 ? [...this.unanswered][0] : undefined;
    const id = read !== undefined && this.unanswered.has(read) ? read : read === undefined ? only : undefined;
    if (id === undefined) {
      this.options.logger.warn(
        { maxResultBytes: maxBytes },
        'stdio upstream wrote an oversized message that answers no known request; dropped it',
      );
      return;
    }
    this.options.logger.warn(
      { maxResultBytes: maxBytes },
      'stdio upstream result too large; failing its request',
    );
    this.unanswered.delete(id);
    this.onmessage?.(resultTooLargeResponse({ maxBytes, id }));
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let message: JSONRPCMessage;
    try {
      message = parseJsonRpcMessage(JSON.parse(line));
    } catch {
      this.badLines += 1;
      this.options.logger.debug(
        { line: line.slice(0, BAD_LINE_LOG_CHARS) },
        'upstream wrote a non-JSON-RPC line on stdout',
      );
      if (this.badLines > (this.options.maxBadLines ?? 100)) {
        this.fail(
          new Error(`upstream wrote more than ${this.options.maxBadLines ?? 100} bad lines on stdout`),
        );
      }
      return;
    }
    const answered = 'method' in message ? undefined : (message as { id?: RequestId }).id;
    if (answered !== undefined) this.unanswered.delete(answered);
    this.onmessage?.(message);
  }

  /** A fault that makes the stream untrustworthy: report it and shut the child down. */
  private fail(error: Error): void {
    this.options.logger.warn({ err: error }, 'stdio upstream broke the protocol; closing it');
    this.broken = true;
    this.onerror?.(error);
    this.close().catch((closeError: unknown) =>
      this.options.logger.warn({ err: closeError }, 'stdio close after a protocol fault failed'),
    );
  }

  private waitForExit(ms: number): Promise<boolean> {
    if (this.exitSeen) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void this.exited.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Signals the child's process group; falls back to the child alone if it has no group of its own. */
  private signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    const pid = child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.options.logger.warn({ err: error, pid, signal }, 'could not signal stdio process group');
      }
      if (!this.exitSeen) child.kill(signal);
    }
  }
}
