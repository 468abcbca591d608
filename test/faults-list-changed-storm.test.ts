import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

const STORM_SERVER = fileURLToPath(new URL('./peers/list-changed-storm-server.mjs', import.meta.url));
const CALLS = 100;

/**
 * Issue 14, faults nobody tried: a server that sends `notifications/tools/list_changed` before
 * every answer, its `tools/list` answers included. Each refresh the hub makes would trigger the
 * next; the hub's refreshes are coalesced and spaced, so the upstream sees a bounded number of
 * `tools/list` requests and calls keep working.
 */
describe('fault: a server answering every request with tools/list_changed', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let token: string;

  const call = async (name: string, args: Record<string, unknown> = {}): Promise<string> => {
    const res = await hub.app.inject({
      method: 'POST',
      url: `/api/mcp/storm/tools/${name}/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: args },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ content: Array<{ text: string }> }>().content[0]!.text;
  };

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      yaml: `
mcpServers:
  storm:
    type: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(STORM_SERVER)}]
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
    token = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  it(`${CALLS} calls: every one answered, and far fewer tools/list requests than notifications`, async () => {
    for (let i = 0; i < CALLS; i += 1) expect(await call('echo', { message: `m${i}` })).toBe(`Echo: m${i}`);
    const lists = Number(await call('list-count'));
    // Unbounded, each refresh's own notification starts the next one: thousands in the same time.
    expect(lists).toBeGreaterThan(0);
    expect(lists).toBeLessThan(CALLS / 4);
    // The tools are still listed.
    const listed = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).toContain('echo');
  }, 60_000);

  it('a client on /mcp hears one tools/list_changed for the storm, not one per notification, and one again after it lists and a real change comes', async () => {
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    const client = new Client({ name: 'storm-watcher', version: '1.0.0' });
    let heard = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (heard += 1));
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    try {
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('storm__echo');
      const echo = (message: string) => client.callTool({ name: 'storm__echo', arguments: { message } });
      for (let i = 0; i < 30; i += 1) expect(textOf(await echo(`m${i}`))).toBe(`Echo: m${i}`);
      // Each call brought at least one upstream notification; the client was told once.
      await expect.poll(() => heard).toBe(1);
      for (let i = 0; i < 10; i += 1) await echo(`more${i}`);
      expect(heard).toBe(1);

      // Once it lists again, a real change reaches it, and the new tool is listed.
      await client.listTools();
      expect(textOf(await client.callTool({ name: 'probe__add-tool', arguments: { name: 'fresh' } }))).toBe(
        'Added fresh',
      );
      await expect.poll(() => heard).toBeGreaterThanOrEqual(2);
      await expect
        .poll(async () => (await client.listTools()).tools.map((tool) => tool.name))
        .toContain('probe__fresh');
    } finally {
      await client.close();
    }
  }, 60_000);
});
