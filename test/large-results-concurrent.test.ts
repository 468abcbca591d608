import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild, type BenchChild } from '../bench/child.js';
import { startIdleCloseProxy, type IdleCloseProxy } from './peers/idle-close-proxy.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

// Issue 15: 1 MB results at 16 concurrent calls through an HTTP upstream failed some calls with
// "MCP server connection closed" (REST 502). The hub's log showed why: one POST to the upstream
// failed at the network level ("other side closed", "write EPIPE": a kept-alive socket the echo
// server had closed while idle, reused by a hub whose own idle timer ran late under load), and the
// hub took that as the upstream going away, dropping the connection and every call in flight on it.

const ECHO = fileURLToPath(new URL('./peers/echo-server.mjs', import.meta.url));
const TEXT = 'x'.repeat(1_000_000);
const CONCURRENCY = 16;
/** 32 MB each way per burst: seconds on a quiet machine, far longer on a loaded two-core CI one. */
const BURST_TIMEOUT_MS = 120_000;

describe('1 MB results, 16 concurrent calls over REST and 16 over /mcp, through a streamable HTTP upstream', () => {
  let echo: BenchChild;
  let proxy: IdleCloseProxy;
  let hub: TestHub;
  let base: string;
  let token: string;
  let client: Client;

  beforeAll(async () => {
    echo = startChild('echo-http', process.execPath, [ECHO, 'http']);
    const port = (await echo.waitFor(/ECHO_LISTENING (\d+)/))[1];
    proxy = await startIdleCloseProxy(`http://127.0.0.1:${port}/mcp`);
    hub = await startTestHub({
      yaml: `
mcpServers:
  echohttp:
    type: streamable-http
    url: ${proxy.url}
mcpSettings:
  allowedDomains: ['127.0.0.1']
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    token = await hub.userToken('large@example.com');
    client = new Client({ name: 'large-results-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await hub?.dispose();
    await proxy?.stop();
    await echo?.stop();
  });

  /** One REST call; resolves with the answer's text length, rejects with the status and body. */
  const rest = async (): Promise<number> => {
    const res = await fetch(`${base}/api/mcp/echohttp/tools/echo/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { text: TEXT } }),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`REST ${res.status}: ${body.slice(0, 300)}`);
    return textOf(JSON.parse(body)).length;
  };
  const mcp = async (): Promise<number> => {
    const result = await client.callTool({ name: 'echohttp__echo', arguments: { text: TEXT } });
    if (result.isError === true) throw new Error(`/mcp: ${textOf(result).slice(0, 300)}`);
    return textOf(result).length;
  };

  /** 16 REST and 16 /mcp calls at once; every failure's message, and the lengths answered. */
  const burst = async (): Promise<{ failures: string[]; lengths: number[] }> => {
    const settled = await Promise.allSettled([
      ...Array.from({ length: CONCURRENCY }, rest),
      ...Array.from({ length: CONCURRENCY }, mcp),
    ]);
    const failures: string[] = [];
    const lengths: number[] = [];
    for (const each of settled) {
      if (each.status === 'fulfilled') lengths.push(each.value);
      else failures.push(String(each.reason));
    }
    return { failures, lengths };
  };

  const dropped = (): string[] => hub.logLines.filter((line) => line.includes('upstream went away'));

  it(
    'all succeed',
    async () => {
      const { failures, lengths } = await burst();
      expect(failures).toEqual([]);
      expect(lengths).toEqual(Array.from({ length: 2 * CONCURRENCY }, () => TEXT.length));
    },
    BURST_TIMEOUT_MS,
  );

  it(
    'all succeed when the upstream closes an idle kept-alive connection as a request is sent on it, and the connection stays',
    async () => {
      // Sockets from the burst before sit idle in the hub's pool: the next burst reuses some.
      for (let round = 0; round < 3; round++) {
        const closedBefore = proxy.closed;
        proxy.closeNextReused(1);
        const { failures, lengths } = await burst();
        // On failure, the hub's own account of why it dropped the connection.
        expect(failures, dropped().join('\n')).toEqual([]);
        expect(lengths).toHaveLength(2 * CONCURRENCY);
        // The close happened in this round (a round without one would prove nothing).
        expect(proxy.closed).toBe(closedBefore + 1);
      }
      expect(dropped()).toEqual([]);
    },
    3 * BURST_TIMEOUT_MS,
  );
});
