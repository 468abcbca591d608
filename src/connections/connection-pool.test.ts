import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from '../../test/peers/probe-server.js';
import type { Clock } from '../core/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { createLogger } from '../observability/index.js';
import { ConnectionPool, type ConnectionPoolDeps } from './connection-pool.js';
import type { ConnectionOptions, ConnectionState, FetchLike, UpstreamSpec } from './types.js';
import { textOf, until } from '../../test/support/mcp-helpers.js';

const logger = createLogger({ level: 'silent' });
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const OPTIONS: ConnectionOptions = { initTimeoutMs: 5_000, requestTimeoutMs: 5_000, idleTimeoutMs: 0 };

async function probe(options?: Parameters<typeof startProbeServer>[0]): Promise<ProbeServer> {
  const server = await startProbeServer(options);
  cleanups.push(() => server.stop());
  return server;
}

/** A fetch that counts the requests it passes on. */
function countingFetch(): { fetch: FetchLike; count: () => number } {
  let count = 0;
  return {
    fetch: (url, init) => {
      count += 1;
      return fetch(url, init);
    },
    count: () => count,
  };
}

/** A pool whose state changes are recorded per key. */
function pool(deps: Partial<ConnectionPoolDeps> = {}): {
  pool: ConnectionPool;
  states: Map<string, ConnectionState[]>;
} {
  const created = new ConnectionPool({ logger, hostEnv: {}, ...deps });
  const states = new Map<string, ConnectionState[]>();
  created.onStateChange((key, state) => states.set(key, [...(states.get(key) ?? []), state]));
  cleanups.push(() => created.close());
  return { pool: created, states };
}

const http = (server: ProbeServer, headers: Record<string, string> = {}): UpstreamSpec => ({
  transport: 'streamable-http',
  url: server.url,
  headers,
});

/** Initialize requests the probe has seen: POSTs without a session id. */
const initializeCount = (server: ProbeServer): number =>
  server
    .recent()
    .filter((request) => request.method === 'POST' && request.headers['mcp-session-id'] === undefined).length;

describe('ConnectionPool', () => {
  it('20 concurrent first acquires share one connect', async () => {
    const server = await probe();
    const { pool: connections, states } = pool();
    const all = await Promise.all(
      Array.from({ length: 20 }, () => connections.acquire('app|probe', 'f1', http(server), OPTIONS)),
    );
    expect(new Set(all).size).toBe(1);
    expect(server.sessions).toBe(1);
    expect(initializeCount(server)).toBe(1);
    expect(connections.state('app|probe')).toBe('connected');
    await until(() => states.get('app|probe')?.length === 2);
    expect(states.get('app|probe')).toEqual(['connecting', 'connected']);
  });

  it('state() never connects and never keeps a connection from going idle', async () => {
    const server = await probe();
    const { pool: connections } = pool();
    expect(connections.state('app|probe')).toBe('disconnected');
    expect(connections.peek('app|probe')).toBeUndefined();
    expect(server.requests).toBe(0);

    await connections.acquire('app|probe', 'f1', http(server), { ...OPTIONS, idleTimeoutMs: 300 });
    const started = Date.now();
    while (connections.state('app|probe') === 'connected' && Date.now() - started < 2_000) await delay(25);
    expect(connections.state('app|probe')).toBe('disconnected');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('idle eviction closes cleanly, waits for calls in flight, and a later acquire reconnects', async () => {
    const server = await probe();
    const { pool: connections, states } = pool();
    const options = { ...OPTIONS, idleTimeoutMs: 300 };
    const first = await connections.acquire('app|probe', 'f1', http(server), options);
    // A call longer than the idle timeout keeps the connection; the countdown restarts when it ends.
    expect(textOf(await first.callTool('slow', { ms: 500 }))).toBe('Slept 500 ms');
    expect(connections.state('app|probe')).toBe('connected');
    await until(() => connections.state('app|probe') === 'disconnected', 2_000);
    await until(() => server.sessions === 0); // the session was ended with DELETE
    expect(first.closed).toBe(true);

    const second = await connections.acquire('app|probe', 'f1', http(server), options);
    expect(second).not.toBe(first);
    expect(textOf(await second.callTool('echo', { message: 'again' }))).toBe('Echo: again');
    await until(() => states.get('app|probe')?.length === 5);
    expect(states.get('app|probe')).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'connecting',
      'connected',
    ]);
  });

  it('a held key outlives its idle timeout, and goes idle once released', async () => {
    const server = await probe();
    const { pool: connections } = pool();
    const options = { ...OPTIONS, idleTimeoutMs: 300 };
    const release = connections.hold('app|held');
    await connections.acquire('app|held', 'f1', http(server), options);
    // An unheld twin with the same timeout is the clock: once it went idle, the held one would have too.
    await connections.acquire('app|twin', 'f1', http(server), options);
    await until(() => connections.state('app|twin') === 'disconnected', 2_000);
    expect(connections.state('app|held')).toBe('connected');
    release();
    release(); // idempotent: a second release does not free another holder
    await until(() => connections.state('app|held') === 'disconnected', 2_000);
  });

  it('a changed fingerprint replaces the connection', async () => {
    const server = await probe();
    const { pool: connections } = pool();
    const old = await connections.acquire(
      'user|u1|probe',
      'key-a',
      http(server, { 'x-api-key': 'a' }),
      OPTIONS,
    );
    expect(JSON.parse(textOf(await old.callTool('whoami', {})))).toMatchObject({ 'x-api-key': 'a' });
    const fresh = await connections.acquire(
      'user|u1|probe',
      'key-b',
      http(server, { 'x-api-key': 'b' }),
      OPTIONS,
    );
    expect(fresh).not.toBe(old);
    expect(JSON.parse(textOf(await fresh.callTool('whoami', {})))).toMatchObject({ 'x-api-key': 'b' });
    await until(() => old.closed && server.sessions === 1);
    // The same fingerprint keeps the live connection.
    expect(
      await connections.acquire('user|u1|probe', 'key-b', http(server, { 'x-api-key': 'b' }), OPTIONS),
    ).toBe(fresh);
  });

  it('upstream killed mid-call: the call rejects at once, the key drops, and acquire reconnects after a restart', async () => {
    const server = await probe();
    const { pool: connections } = pool({ retry: { attempts: 1 } });
    const connection = await connections.acquire('app|probe', 'f1', http(server), OPTIONS);
    const started = Date.now();
    await expect(connection.callTool('crash', {}, { timeoutMs: 20_000 })).rejects.toSatisfy((error) =>
      isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    await until(() => connections.state('app|probe') === 'disconnected');

    await expect(connections.acquire('app|probe', 'f1', http(server), OPTIONS)).rejects.toSatisfy((error) =>
      isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'),
    );
    expect(connections.state('app|probe')).toBe('error');

    await server.restart();
    const again = await connections.acquire('app|probe', 'f1', http(server), OPTIONS);
    expect(again).not.toBe(connection);
    expect(textOf(await again.callTool('echo', { message: 'back' }))).toBe('Echo: back');
    expect(connections.state('app|probe')).toBe('connected');
  });

  it('retries within one acquire, but not on a 4xx', async () => {
    const server = await probe({ requireHeader: { name: 'x-api-key', value: 'right' } });
    const counter = countingFetch();
    const { pool: connections } = pool({
      fetch: counter.fetch,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 },
    });
    await expect(
      connections.acquire('app|auth', 'f1', http(server, { 'x-api-key': 'wrong' }), OPTIONS),
    ).rejects.toSatisfy(
      (error) => isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE') && error.details?.upstreamStatus === 401,
    );
    expect(counter.count()).toBe(1);

    server.setMode('fail-500');
    const before = counter.count();
    await expect(
      connections.acquire('app|auth', 'f1', http(server, { 'x-api-key': 'right' }), OPTIONS),
    ).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'));
    expect(counter.count() - before).toBe(3);
  });

  it('an injected fetch (the egress guard) that refuses: its HubError reaches the caller, no retry', async () => {
    const server = await probe();
    let calls = 0;
    const refusing: FetchLike = () => {
      calls += 1;
      return Promise.reject(new HubError('HUB_ERR_FORBIDDEN', { message: 'Destination not allowed' }));
    };
    const { pool: connections } = pool({
      fetch: refusing,
      retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 },
    });
    await expect(connections.acquire('app|guarded', 'f1', http(server), OPTIONS)).rejects.toSatisfy((error) =>
      isHubError(error, 'HUB_ERR_FORBIDDEN'),
    );
    expect(calls).toBe(1);
    expect(server.requests).toBe(0);
  });

  it('the circuit opens after repeated failures, fails fast without touching the network, and half-opens later', async () => {
    const server = await probe();
    server.kill(); // a dead port
    const counter = countingFetch();
    let now = 1_000_000;
    const clock: Clock = { now: () => now };
    const { pool: connections } = pool({
      fetch: counter.fetch,
      clock,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      breaker: { failureThreshold: 2, baseCooldownMs: 10_000, maxCooldownMs: 60_000 },
    });
    const acquire = () => connections.acquire('app|dead', 'f1', http(server), OPTIONS);
    for (let i = 0; i < 2; i += 1) {
      await expect(acquire()).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'));
    }
    expect(counter.count()).toBe(4); // 2 acquires × 2 attempts

    const started = Date.now();
    for (let i = 0; i < 10; i += 1) {
      await expect(acquire()).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_CIRCUIT_OPEN'));
    }
    expect(Date.now() - started).toBeLessThan(100);
    expect(counter.count()).toBe(4);
    expect(connections.state('app|dead')).toBe('error');

    // Half-open after the cool-down (5–10 s with jitter): one acquire goes through and fails…
    now += 10_001;
    await expect(acquire()).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'));
    expect(counter.count()).toBe(6);
    // …which re-opens the circuit at once, for longer (10–20 s).
    await expect(acquire()).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_CIRCUIT_OPEN'));
    now += 10_001;
    await expect(acquire()).rejects.toSatisfy(
      (error) =>
        isHubError(error, 'HUB_ERR_CIRCUIT_OPEN') || isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'),
    );

    // The upstream is back: after the cool-down one acquire succeeds and closes the circuit.
    await server.restart();
    now += 20_001;
    const connection = await acquire();
    expect(textOf(await connection.callTool('echo', { message: 'up' }))).toBe('Echo: up');
    expect(connections.state('app|dead')).toBe('connected');
  });

  it('disconnect during a connect abandons it; disconnectWhere picks keys; close() refuses new acquires', async () => {
    const stalled = await probe();
    stalled.setMode('stall');
    const server = await probe();
    const { pool: connections, states } = pool();
    const pending = connections.acquire('app|stalled', 'f1', http(stalled), OPTIONS);
    await delay(100);
    const started = Date.now();
    await connections.disconnect('app|stalled');
    await expect(pending).rejects.toSatisfy((error) => isHubError(error, 'HUB_ERR_UPSTREAM_UNAVAILABLE'));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(connections.state('app|stalled')).toBe('disconnected');
    await until(() => states.get('app|stalled')?.length === 2);
    expect(states.get('app|stalled')).toEqual(['connecting', 'disconnected']);

    await Promise.all(
      ['user|1|probe', 'user|2|probe', 'app|other'].map((key) =>
        connections.acquire(key, 'f1', http(server), OPTIONS),
      ),
    );
    expect(server.sessions).toBe(3);
    await connections.disconnectWhere((key) => key.endsWith('|probe'));
    expect(connections.state('user|1|probe')).toBe('disconnected');
    expect(connections.state('user|2|probe')).toBe('disconnected');
    expect(connections.state('app|other')).toBe('connected');
    expect(connections.keys()).toEqual(['app|other']);
    expect(server.sessions).toBe(1);

    await connections.close();
    expect(server.sessions).toBe(0);
    await expect(connections.acquire('app|other', 'f1', http(server), OPTIONS)).rejects.toSatisfy((error) =>
      isHubError(error, 'HUB_ERR_NOT_READY'),
    );
  });

  it('announces tools/list_changed with the key', async () => {
    const server = await probe();
    const { pool: connections } = pool();
    const changed: string[] = [];
    connections.onToolsChanged((key) => changed.push(key));
    const connection = await connections.acquire('user|u1|probe', 'f1', http(server), OPTIONS);
    await until(() => server.openStreams === 1);
    await connection.callTool('add-tool', { name: 'fresh' });
    await until(() => changed.length === 1);
    expect(changed).toEqual(['user|u1|probe']);
  });
});
