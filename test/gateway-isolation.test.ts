import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CallToolResultSchema,
  ProgressNotificationSchema,
  type CallToolResult,
  type ProgressNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { textOf } from './support/mcp-helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USERS = 20;
const CLIENTS_PER_USER = 10;
/** Each client sleeps a different time (ms), so `total` in its progress and its result text are its own. */
const BASE_SLEEP_MS = 300;
const CALL_TIMEOUT_MS = 90_000;

/**
 * The hub runs in a child process (the whole app, as `startTestHub` builds it), so the RSS and CPU
 * printed below are the hub's alone, and the 200 clients here do not share its event loop. It
 * answers `stats` and `stop` over IPC and exits when this process goes away.
 */
const HUB_CHILD = `
import { startTestHub } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'test/support/hub.ts')).href)};
const { yaml, emails } = JSON.parse(process.env.SWITCHBOARD_HUB_CHILD);
const hub = await startTestHub({ yaml });
await hub.startup.firstPass;
await hub.app.listen({ port: 0, host: '127.0.0.1' });
const tokens = [];
for (const email of emails) tokens.push(await hub.userToken(email));
const stop = () => hub.dispose().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('message', (message) => {
  if (message === 'stop') void stop();
  if (message === 'stats') process.send({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() });
});
process.send({ port: hub.app.server.address().port, tokens });
`;

/** What the hub child reports. */
interface HubStats {
  rss: number;
  cpu: NodeJS.CpuUsage;
}

/** The hub child process: its address, a token per e-mail, and its resource use on demand. */
interface HubChild {
  base: string;
  tokens: string[];
  stats(): Promise<HubStats>;
  stop(): Promise<void>;
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`hub child exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T); // the child's own messages, shaped as declared above
    });
  });
}

async function startHubChild(yaml: string, emails: string[]): Promise<HubChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', HUB_CHILD], {
    cwd: ROOT,
    env: { ...process.env, SWITCHBOARD_HUB_CHILD: JSON.stringify({ yaml, emails }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await nextMessage<{ port: number; tokens: string[] }>(child);
  return {
    base: `http://127.0.0.1:${ready.port}`,
    tokens: ready.tokens,
    stats: () => {
      const answer = nextMessage<HubStats>(child);
      child.send('stats');
      return answer;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.send('stop');
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One downstream client: who it is and what it must receive. */
interface Caller {
  index: number;
  email: string;
  token: string;
  /** The `slow` call's duration: unique per client, echoed as `total` and in `Slept <ms> ms`. */
  sleepMs: number;
  /** Unique progress token, chosen by this client. */
  progressToken: string;
}

/** What one client saw. */
interface Observation {
  caller: Caller;
  progress: ProgressNotification['params'][];
  slowText: string;
  whoamiText: string;
  /** Milliseconds from sending `whoami` to its answer. */
  whoamiMs: number;
  /** Milliseconds of the `slow` call above its requested sleep. */
  slowOverheadMs: number;
}

function distribution(label: string, values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN).toFixed(0);
  return `${label}: n=${sorted.length} p50=${at(50)} p90=${at(90)} p99=${at(99)} max=${at(100)} ms`;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const cpuMs = (cpu: NodeJS.CpuUsage) => (cpu.user + cpu.system) / 1000;

/**
 * LD-06 (CVE-2026-25536): 200 concurrent downstream sessions on `/mcp`, 20 users × 10 clients,
 * each running two calls at once: `probe__slow` (one app-level upstream connection shared by every
 * session; progress every 100 ms; its duration, hence `total` and the result text, unique to the
 * client) and `mine__whoami` (a per-user upstream connection whose `x-api-key` is the caller's
 * e-mail). Every client picks its own progress token and listens to raw progress notifications
 * (the SDK's own routing by token is replaced), so anything meant for another session is seen.
 */
describe('LD-06: no cross-talk between 200 concurrent sessions on /mcp', () => {
  let hub: HubChild;
  let probe: ProbeServer;
  const callers: Caller[] = [];

  beforeAll(async () => {
    probe = await startProbeServer({ historySize: 10 });
    const emails = Array.from({ length: USERS }, (_, user) => `user${user}@example.com`);
    hub = await startHubChild(
      `
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
  mine:
    type: streamable-http
    url: ${probe.url}
    headers:
      x-api-key: "{{LIBRECHAT_USER_EMAIL}}"
`,
      emails,
    );
    emails.forEach((email, user) => {
      for (let n = 0; n < CLIENTS_PER_USER; n += 1) {
        const index = user * CLIENTS_PER_USER + n;
        callers.push({
          index,
          email,
          token: hub.tokens[user]!,
          sleepMs: BASE_SLEEP_MS + index,
          progressToken: `client-${index}`,
        });
      }
    });
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
    await probe?.stop();
  });

  async function session(caller: Caller): Promise<Observation> {
    const progress: ProgressNotification['params'][] = [];
    const client = new Client({ name: `isolation-${caller.index}`, version: '1.0.0' });
    client.setNotificationHandler(ProgressNotificationSchema, (notification) => {
      progress.push(notification.params);
    });
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${hub.base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${caller.token}` } },
        }),
      );
      const slowStarted = performance.now();
      const slow = client
        .request(
          {
            method: 'tools/call',
            params: {
              name: 'probe__slow',
              arguments: { ms: caller.sleepMs },
              _meta: { progressToken: caller.progressToken },
            },
          },
          CallToolResultSchema,
          { timeout: CALL_TIMEOUT_MS },
        )
        .then((r) => ({ text: textOf(r), overheadMs: performance.now() - slowStarted - caller.sleepMs }));
      const whoamiStarted = performance.now();
      const whoami = client
        .callTool({ name: 'mine__whoami', arguments: {} }, undefined, { timeout: CALL_TIMEOUT_MS })
        .then((r) => ({ text: textOf(r as CallToolResult), ms: performance.now() - whoamiStarted }));
      const [s, w] = await Promise.all([slow, whoami]);
      return {
        caller,
        progress,
        slowText: s.text,
        whoamiText: w.text,
        whoamiMs: w.ms,
        slowOverheadMs: s.overheadMs,
      };
    } finally {
      await client.close();
    }
  }

  it(
    'every response and every progress notification reaches its own client, and only it',
    async () => {
      const before = await hub.stats();
      const started = performance.now();
      const observations = await Promise.all(callers.map((caller) => session(caller)));
      const elapsed = performance.now() - started;
      const after = await hub.stats();

      const wrong: string[] = [];
      let notifications = 0;
      for (const { caller, progress, slowText, whoamiText } of observations) {
        const who = `client ${caller.index}`;
        if (slowText !== `Slept ${caller.sleepMs} ms`) wrong.push(`${who} got slow "${slowText}"`);
        const whoami = JSON.parse(whoamiText) as { 'x-api-key': string | null };
        if (whoami['x-api-key'] !== caller.email) wrong.push(`${who} got whoami ${whoamiText}`);
        notifications += progress.length;
        for (const p of progress) {
          if (p.progressToken !== caller.progressToken || p.total !== caller.sleepMs) {
            wrong.push(`${who} got progress ${JSON.stringify(p)}`);
          }
        }
        // The first tick (100 ms) always precedes the end of a ≥ 300 ms sleep: one at least is relayed.
        if (progress.length === 0) wrong.push(`${who} got no progress notification`);
      }

      const calls = observations.length * 2;
      console.log(
        [
          `LD-06: ${observations.length} sessions (${USERS} users × ${CLIENTS_PER_USER}), ${calls} calls, ${notifications} progress notifications, ${elapsed.toFixed(0)} ms in all`,
          distribution(
            'mine__whoami round trip',
            observations.map((o) => o.whoamiMs),
          ),
          distribution(
            'probe__slow time above its sleep',
            observations.map((o) => o.slowOverheadMs),
          ),
          `hub process RSS: ${mib(before.rss)} before, ${mib(after.rss)} after`,
          `hub process CPU: ${(cpuMs(after.cpu) - cpuMs(before.cpu)).toFixed(0)} ms for ${observations.length} sessions and ${calls} calls (${((cpuMs(after.cpu) - cpuMs(before.cpu)) / observations.length).toFixed(1)} ms per session, connect to close)`,
          `upstream sessions at the probe: ${probe.sessions} (for probe 1 shared by /mcp and 1 by the REST API's start-up connect; 1 per user for mine)`,
        ].join('\n'),
      );

      expect(wrong).toEqual([]);
      // One upstream session shared by every downstream session (the relay connection), plus the
      // REST API's own from the start-up pass; one per user for the per-user server.
      expect(probe.sessions).toBe(2 + USERS);
    },
    2 * CALL_TIMEOUT_MS,
  );
});
