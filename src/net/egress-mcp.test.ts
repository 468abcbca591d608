import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeServer, startProbeServer } from '../../test/peers/probe-server.js';
import { isHubError } from '../errors/index.js';
import { type EgressGuard, createEgressGuard } from './index.js';

/** The MCP SDK's streamable HTTP transport over the guard, as the connections module wires it. */
describe('the guard under the MCP SDK', () => {
  let probe: ProbeServer;
  let guard: EgressGuard;

  beforeAll(async () => {
    probe = await startProbeServer();
    guard = createEgressGuard({ allowedDomains: [new URL(probe.url).host], timeoutMs: 300 });
  });

  afterAll(async () => {
    await probe.stop();
    await guard.close();
  });

  it('streaming: a call and the standalone event stream outlive the time cap', async () => {
    const client = new Client({ name: 'egress-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(probe.url), {
      fetch: guard.withLimits({ streaming: true }),
    });
    let announced!: () => void;
    const listChanged = new Promise<void>((resolve) => (announced = resolve));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => announced());
    await client.connect(transport);
    try {
      const slow = await client.callTool({ name: 'slow', arguments: { ms: 600 } });
      expect(slow.content).toEqual([{ type: 'text', text: 'Slept 600 ms' }]);
      // The GET stream has been open longer than the 300 ms cap; it still carries notifications.
      await new Promise((resolve) => setTimeout(resolve, 100));
      probe.addTool('late-tool');
      await listChanged;
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('late-tool');
    } finally {
      await client.close();
    }
  });

  it('a server that is not allowlisted is refused before any request reaches it', async () => {
    const stranger = await startProbeServer();
    const client = new Client({ name: 'egress-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(stranger.url), {
      fetch: guard.withLimits({ streaming: true }),
    });
    try {
      let caught: unknown;
      try {
        await client.connect(transport);
      } catch (error) {
        caught = error;
      }
      expect(isHubError(caught, 'HUB_ERR_EGRESS_DENIED'), String(caught)).toBe(true);
      expect(stranger.requests).toBe(0);
    } finally {
      await client.close();
      await stranger.stop();
    }
  });
});
