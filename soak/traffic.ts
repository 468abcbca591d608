import type { PrivateRedis } from '../test/peers/private-redis.js';
import { McpSession, restCall, toolFor } from './calls.js';
import { ClientAgent } from './client-agent.js';
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
  private readonly agent = new ClientAgent();
  /** When each `crash` call to the HTTP peer started. */
  private readonly httpCrashCalls: number[] = [];
  private deadline = 0;

  constructor(private readonly options: TrafficOptions) {
    this.sessions = options.tokens.map(
      (token) =>
        new McpSession(this.agent, `${options.base}/mcp`, token, () => 10 + Math.floor(Math.random() * 40)),
    );
    this.free = options.tokens.map((_, i) => i);
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
    // The HTTP peer serves every user: each time it was down is a window for all its callers. It
    // opens when the crash call that ended it started (the hub may see the connection drop before
    // the soak hears of the exit) and closes a grace after the peer is back.
    for (const down of this.options.httpPeer.downtimes) {
      const from =
        this.httpCrashCalls.filter((start) => start <= down.from && start > down.from - 60_000).at(-1) ??
        down.from;
      const to = (down.to ?? Date.now()) + CRASH_GRACE_MS;
      this.windows.push({ kind: 'crash', target: 'soak-http', from, to });
    }
  }

  /** Ends every user's MCP session (DELETE) and closes the soak's sockets to the hub. */
  async closeSessions(): Promise<void> {
    await Promise.all(this.sessions.map((session) => session.close()));
    await this.agent.closeSockets();
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
    // A stdio crash ends one connection (REST and /mcp each have their own); the HTTP peer's
    // crashes are windows of their own (see run).
    const window: FaultWindow | undefined =
      intent === 'crash' && target === 'soak-stdio'
        ? { kind: 'crash', target, path, from: start, to: Infinity }
        : undefined;
    if (window) this.windows.push(window);
    if (intent === 'crash' && target === 'soak-http') this.httpCrashCalls.push(start);
    const { tool, args } = toolFor(intent, this.options.bigBytes);
    const token = this.options.tokens[user] ?? '';
    const outcome =
      path === 'rest'
        ? await restCall(this.agent, this.options.base, token, target, tool, args)
        : await (this.sessions[user] as McpSession).call(target, tool, args);
    const end = Date.now();
    // The hub runs a stdio server again at the next call: its window ends a grace after the crash.
    if (window) window.to = end + CRASH_GRACE_MS;
    this.records.push({ path, target, intent, start, end, outcome });
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
