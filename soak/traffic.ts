import type { PrivateRedis } from '../test/peers/private-redis.js';
import { McpSession, restCall, toolFor } from './calls.js';
import type { CallRecord, FaultWindow, Intent, Target } from './faults.js';
import type { HttpPeer } from './http-peer.js';

/** How long after a crashed upstream is back its callers may still fail (reconnects, breaker). */
const CRASH_GRACE_MS = 5_000;
/** How long after Redis is back calls may still fail (ioredis reconnects with a back-off). */
const REDIS_GRACE_MS = 15_000;

export interface TrafficOptions {
  base: string;
  tokens: string[];
  /** Workers sending ordinary calls at once. */
  concurrency: number;
  durationMs: number;
  /** Pause between one worker's calls, at random from 0 to this, ms. */
  thinkMs: number;
  /** Mean time between injected faults, ms. */
  faultEveryMs: number;
  /** Size of a `big` result (above the hub's limit). */
  bigBytes: number;
  /** How long Redis stays down in its one restart, ms. */
  redisDownMs: number;
  httpPeer: HttpPeer;
  redis: PrivateRedis;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const FAULTS: { intent: Intent; target: Target }[] = [
  { intent: 'crash', target: 'soak-stdio' },
  { intent: 'crash', target: 'soak-http' },
  { intent: 'hang', target: 'soak-stdio' },
  { intent: 'hang', target: 'soak-http' },
  { intent: 'big', target: 'soak-stdio' },
  { intent: 'big', target: 'soak-http' },
];

/**
 * The soak's traffic: workers making ordinary calls (REST and /mcp sessions, many users, each user
 * making one call at a time), faults injected at random moments, each one call of a fault tool,
 * and Redis restarted once half-way. Every call is recorded with what it was meant to do.
 */
export class Traffic {
  readonly records: CallRecord[] = [];
  readonly windows: FaultWindow[] = [];
  private readonly sessions: McpSession[];
  private readonly free: number[];
  private readonly waiting: ((user: number) => void)[] = [];
  private readonly faultCalls = new Set<Promise<void>>();
  /** Crash windows of the HTTP peer not closed yet: they end when it is back. */
  private httpCrashes: FaultWindow[] = [];
  private deadline = 0;

  constructor(private readonly options: TrafficOptions) {
    this.sessions = options.tokens.map(
      (token) => new McpSession(`${options.base}/mcp`, token, () => 10 + Math.floor(Math.random() * 40)),
    );
    this.free = options.tokens.map((_, i) => i);
    options.httpPeer.onRestarted = (at) => {
      for (const window of this.httpCrashes.splice(0)) window.to = at + CRASH_GRACE_MS;
    };
  }

  /** One call of each kind per user on both servers: every connection and code path exists once. */
  async warmUp(): Promise<void> {
    await Promise.all(
      this.options.tokens.map(async (_, user) => {
        for (const target of ['soak-stdio', 'soak-http', 'list'] as const) {
          await this.call(user, 'rest', target, 'ok');
          await this.call(user, 'mcp', target, 'ok');
        }
      }),
    );
  }

  /** Runs the soak's traffic for `durationMs`, then waits for every call still in flight. */
  async run(): Promise<void> {
    this.deadline = Date.now() + this.options.durationMs;
    const workers = Array.from({ length: this.options.concurrency }, () => this.worker());
    await Promise.all([...workers, this.injectFaults(), this.restartRedis()]);
    await Promise.all(this.faultCalls);
    for (const window of this.httpCrashes) window.to = Date.now();
  }

  /** Ends every user's MCP session (DELETE). */
  async closeSessions(): Promise<void> {
    await Promise.all(this.sessions.map((session) => session.close()));
  }

  private async worker(): Promise<void> {
    while (Date.now() < this.deadline) {
      const user = await this.takeUser();
      const target: Target = Math.random() < 0.1 ? 'list' : pick(['soak-stdio', 'soak-http'] as const);
      await this.call(user, pick(['rest', 'mcp'] as const), target, 'ok');
      this.releaseUser(user);
      await pause(Math.random() * this.options.thinkMs);
    }
  }

  private async injectFaults(): Promise<void> {
    for (;;) {
      // Exponential gaps (a Poisson process), capped so one long gap cannot eat the soak.
      const gap = Math.min(
        -Math.log(1 - Math.random()) * this.options.faultEveryMs,
        4 * this.options.faultEveryMs,
      );
      await pause(gap);
      if (Date.now() >= this.deadline) return;
      const { intent, target } = pick(FAULTS);
      const user = await this.takeUser();
      const done = this.call(user, pick(['rest', 'mcp'] as const), target, intent).then(() =>
        this.releaseUser(user),
      );
      this.faultCalls.add(done);
      void done.then(() => this.faultCalls.delete(done));
    }
  }

  private async restartRedis(): Promise<void> {
    await pause(this.options.durationMs / 2);
    const window: FaultWindow = { kind: 'redis', from: Date.now(), to: Infinity };
    this.windows.push(window);
    await this.options.redis.stop();
    await pause(this.options.redisDownMs);
    await this.options.redis.start();
    window.to = Date.now() + REDIS_GRACE_MS;
  }

  private async call(user: number, path: 'rest' | 'mcp', target: Target, intent: Intent): Promise<void> {
    const start = Date.now();
    const window = intent === 'crash' ? this.openCrashWindow(target, path, start) : undefined;
    const { tool, args } = toolFor(intent, this.options.bigBytes);
    const token = this.options.tokens[user] ?? '';
    const outcome =
      path === 'rest'
        ? await restCall(this.options.base, token, target, tool, args)
        : await (this.sessions[user] as McpSession).call(target, tool, args);
    const end = Date.now();
    // The hub runs a stdio server again at the next call: its window ends a grace after the crash.
    if (window && target === 'soak-stdio') window.to = end + CRASH_GRACE_MS;
    this.records.push({ path, target, intent, start, end, outcome });
  }

  private openCrashWindow(target: Target, path: 'rest' | 'mcp', from: number): FaultWindow {
    // A stdio crash ends one connection (REST and /mcp have their own); the HTTP peer serves all.
    const window: FaultWindow =
      target === 'soak-stdio'
        ? { kind: 'crash', target, path, from, to: Infinity }
        : { kind: 'crash', target, from, to: Infinity };
    this.windows.push(window);
    if (target === 'soak-http') this.httpCrashes.push(window);
    return window;
  }

  private async takeUser(): Promise<number> {
    if (this.free.length > 0) {
      const index = Math.floor(Math.random() * this.free.length);
      return this.free.splice(index, 1)[0] as number;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaseUser(user: number): void {
    const next = this.waiting.shift();
    if (next) next(user);
    else this.free.push(user);
  }
}
