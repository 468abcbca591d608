import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebSocketMcpServer, type WebSocketMcpServer } from '../../test/peers/websocket-mcp-server.js';
import { textOf } from '../../test/support/mcp-helpers.js';
import { isHubError } from '../errors/index.js';
import { createEgressGuard, type EgressGuard } from '../net/index.js';
import { createLogger } from '../observability/index.js';
import { ConnectionPool } from './connection-pool.js';
import { PermanentConnectError } from './upstream-errors.js';
import { GuardedWebSocketTransport } from './websocket-transport.js';

const logger = createLogger({ level: 'silent' });
// The self-signed certificate for `pinned.test` the egress TLS tests use (its key protects nothing).
const cert = readFileSync(new URL('../net/fixtures/pinned-test-cert.pem', import.meta.url), 'utf8');
const key = readFileSync(new URL('../net/fixtures/pinned-test-key.pem', import.meta.url), 'utf8');

function transportTo(url: string, guard?: EgressGuard): GuardedWebSocketTransport {
  return new GuardedWebSocketTransport({
    url: new URL(url),
    maxMessageBytes: 64 * 1024,
    ...(guard === undefined ? {} : { dial: guard.dialWebSocket }),
    logger,
  });
}

async function connected(transport: GuardedWebSocketTransport): Promise<Client> {
  const client = new Client({ name: 'websocket-transport-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('wss through the egress guard', () => {
  let peer: WebSocketMcpServer;
  let guard: EgressGuard;
  const lookups: string[] = [];

  beforeAll(async () => {
    peer = await startWebSocketMcpServer({ key, cert, host: 'pinned.test' });
    guard = createEgressGuard({
      // An https entry: the TLS websocket may pass, the plain one may not.
      allowedDomains: ['https://pinned.test'],
      resolver: async (hostname) => {
        lookups.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
      // Trust the test certificate; verification itself stays on.
      dial: buildConnector({ ca: cert, timeout: 2_000 }),
    });
  });
  afterAll(async () => {
    await guard.close();
    await peer.close();
  });

  it('connects to the pinned address with TLS checked against the URL host, and calls a tool', async () => {
    const client = await connected(transportTo(peer.url, guard));
    try {
      const result = await client.callTool({ name: 'echo', arguments: { message: 'tls' } });
      expect(textOf(result)).toBe('Echo: tls');
      // The guard resolved the name once; ws never looked it up (pinned.test is in no real DNS).
      expect(lookups).toEqual(['pinned.test']);
      expect(peer.handshakes).toEqual([{ path: '/mcp', protocols: 'mcp', extensions: undefined }]);
    } finally {
      await client.close();
    }
  });

  it('ws:// to the same host is refused: the allowlist entry names https (wss) only', async () => {
    const plain = peer.url.replace('wss://', 'ws://');
    const error = await transportTo(plain, guard)
      .start()
      .catch((rejection: unknown) => rejection);
    expect(isHubError(error, 'HUB_ERR_EGRESS_DENIED')).toBe(true);
    expect(peer.handshakes).toHaveLength(1);
  });
});

describe('handshake refusals', () => {
  let peer: WebSocketMcpServer;

  beforeAll(async () => {
    peer = await startWebSocketMcpServer();
  });
  afterAll(() => peer.close());

  it('a redirect is never followed (SS-08): HUB_ERR_EGRESS_FAILED, and its target saw nothing', async () => {
    const error = await transportTo(peer.redirectUrl)
      .start()
      .catch((rejection: unknown) => rejection);
    expect(isHubError(error, 'HUB_ERR_EGRESS_FAILED')).toBe(true);
    expect((error as Error).message).toContain('HTTP 302');
    expect(peer.handshakes.map((each) => each.path)).toEqual(['/redirect']);
  });

  it('a 404 is a permanent failure (no retry can fix a wrong path)', async () => {
    const error = await transportTo(peer.url.replace('/mcp', '/nothing'))
      .start()
      .catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(PermanentConnectError);
    expect((error as Error).message).toContain('HTTP 404');
  });

  it('close() reports onclose once, and a closed transport cannot send', async () => {
    const transport = transportTo(peer.url);
    let closes = 0;
    transport.onclose = () => (closes += 1);
    await transport.start();
    await transport.close();
    await transport.close();
    expect(closes).toBe(1);
    await expect(transport.send({ jsonrpc: '2.0', method: 'ping', id: 1 })).rejects.toThrow('Not connected');
  });
});

describe('oversized messages', () => {
  const LIMIT = 64 * 1024;
  const OPTIONS = { initTimeoutMs: 10_000, requestTimeoutMs: 10_000, idleTimeoutMs: 0 };
  let peer: WebSocketMcpServer;
  let pool: ConnectionPool;

  beforeAll(async () => {
    peer = await startWebSocketMcpServer();
    pool = new ConnectionPool({ logger, hostEnv: process.env, maxResultBytes: LIMIT });
  });
  afterAll(async () => {
    await pool.close();
    await peer.close();
  });

  it('an oversized result fails its own call with HUB_ERR_RESULT_TOO_LARGE; the connection and a call waiting beside it go on', async () => {
    const spec = { transport: 'websocket' as const, url: peer.url };
    const connection = await pool.acquire('app|ws', 'f1', spec, OPTIONS);
    const held = connection.callTool('held', {});
    const error = await connection
      .callTool('sized', { bytes: 4 * LIMIT })
      .catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({
      code: 'HUB_ERR_RESULT_TOO_LARGE',
      message: `MCP server result is larger than the ${LIMIT}-byte limit (maxResultBytes)`,
    });
    // Just under the limit passes; the held call was not failed with it.
    expect(textOf(await connection.callTool('sized', { bytes: LIMIT - 1024 }))).toHaveLength(LIMIT - 1024);
    expect(textOf(await connection.callTool('release', {}))).toBe('released 1');
    expect(textOf(await held)).toBe('released');
    expect(connection.closed).toBe(false);
    expect(pool.peek('app|ws')).toBe(connection);
    expect(peer.handshakes).toHaveLength(1);
  });
});
