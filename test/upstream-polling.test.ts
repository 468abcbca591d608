import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceFixtures, type ConformanceFixtures } from './peers/conformance-fixtures.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

/**
 * An upstream that ends a call's event stream before answering and expects the client back with
 * `Last-Event-ID` (streamable HTTP "Resumability and Redelivery"; SEP-1699 polling): the SDK's own
 * server with an event store, whose `test_reconnection` tool closes its POST stream after the
 * priming event and answers into the store. The hub resumes the stream, and its caller gets the
 * answer as from any call, over REST and over `/mcp`.
 */
describe('an upstream that ends a call’s stream and expects the hub to resume it', () => {
  let fixtures: ConformanceFixtures;
  let hub: TestHub;
  let token: string;

  beforeAll(async () => {
    fixtures = await startConformanceFixtures();
    hub = await startTestHub({
      yaml: `
mcpServers:
  fixtures:
    type: streamable-http
    url: ${fixtures.url}
    startup: false
`,
    });
    token = await hub.userToken('poll@example.com');
  });

  afterAll(async () => {
    await hub?.dispose();
    await fixtures?.stop();
  });

  it('REST: the call answers 200 with the tool’s result', async () => {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/fixtures/tools/test_reconnection/call',
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: {} },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ content: [{ type: 'text', text: 'Reconnection test completed' }] });
  });

  it.each([
    ['/mcp', 'fixtures__test_reconnection'],
    ['/mcp/servers/fixtures', 'test_reconnection'],
  ])('%s: the SDK client gets the tool’s result', async (path, tool) => {
    if (!hub.app.server.listening) await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (hub.app.server.address() as AddressInfo).port;
    const client = new Client({ name: 'polling-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}${path}`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const result = await client.callTool({ name: tool, arguments: {} });
      expect(result.isError ?? false, textOf(result)).toBe(false);
      expect(textOf(result)).toBe('Reconnection test completed');
    } finally {
      await client.close();
    }
  });
});
