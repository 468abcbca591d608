import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardableHeaders } from '../src/upstreams/index.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** `requestHeaders` on an admin's server: filled from the calling request's allowlisted headers. */
describe('requestHeaders from the calling request', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let base: string;
  let alice: string;
  let bob: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
    headers: { X-Api-Key: static, X-Fixed: fixed }
    requestHeaders:
      X-Api-Key: "conv={{HUB_REQUEST_HEADER_X-Conversation-Id}}"
      X-Parent: "{{LIBRECHAT_BODY_PARENTMESSAGEID}}"
      X-Trace: "{{HUB_REQUEST_HEADER_traceparent}}"
      X-Leak-Auth: "{{HUB_REQUEST_HEADER_authorization}}"
      X-Leak-Cookie: "{{HUB_REQUEST_HEADER_cookie}}"
      Mcp-Session-Id: "{{HUB_REQUEST_HEADER_x-request-id}}"
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    [alice, bob] = await Promise.all([hub.userToken('alice@example.com'), hub.userToken('bob@example.com')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
    await probe?.stop();
  });

  /** Calls the probe's `whoami` over REST; it reports the x-api-key its own request carried. */
  async function whoamiRest(token: string, headers: Record<string, string>): Promise<unknown> {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/probe/tools/whoami/call',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify({ arguments: {} }),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ content: Array<{ text: string }> }>();
    return JSON.parse(body.content[0]?.text ?? 'null');
  }

  /** The recorded upstream request whose x-api-key names this conversation. */
  const upstreamFor = (conversation: string) =>
    probe.lastHeaders().filter((h) => h['x-api-key'] === `conv=${conversation}`);

  it('fills allowlisted headers on a REST tool call, over the static headers', async () => {
    const seen = await whoamiRest(alice, {
      'x-conversation-id': 'rest-1',
      'x-parent-message-id': 'parent-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      cookie: 'session=alice-cookie',
    });
    expect(seen).toMatchObject({ 'x-api-key': 'conv=rest-1' });
    const [sent] = upstreamFor('rest-1');
    expect(sent).toMatchObject({
      'x-parent': 'parent-1',
      'x-trace': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-fixed': 'fixed',
    });
    // authorization and cookie are off the allowlist: their placeholders never resolve.
    expect(sent).not.toHaveProperty('x-leak-auth');
    expect(sent).not.toHaveProperty('x-leak-cookie');
    const everyValue = probe.lastHeaders().flatMap((h) => Object.values(h));
    expect(everyValue.some((v) => v.includes(alice) || v.includes('alice-cookie'))).toBe(false);
  });

  it('leaves a header out when the request did not send its source, and keeps the static one', async () => {
    const seen = await whoamiRest(alice, {});
    expect(seen).toMatchObject({ 'x-api-key': 'static' });
    const last = probe.lastHeaders().at(-1);
    expect(last).not.toHaveProperty('x-parent');
    expect(last).not.toHaveProperty('x-trace');
  });

  it('never lets requestHeaders replace the MCP session header', async () => {
    await whoamiRest(alice, { 'x-conversation-id': 'session-1', 'x-request-id': 'not-a-session' });
    const [sent] = upstreamFor('session-1');
    expect(sent?.['mcp-session-id']).toBeDefined();
    expect(sent?.['mcp-session-id']).not.toBe('not-a-session');
  });

  it('sends no value with a line break or an over-long value', async () => {
    const seen = await whoamiRest(alice, {
      'x-conversation-id': `${'a'.repeat(2000)}`,
      'x-parent-message-id': 'p\tq',
    });
    expect(seen).toMatchObject({ 'x-api-key': 'static' });
    expect(probe.lastHeaders().at(-1)).not.toHaveProperty('x-parent');
    // Node refuses a CR or LF in an incoming header, so the allowlist filter is checked directly.
    expect(forwardableHeaders({ 'x-conversation-id': 'a\r\nX-Evil: 1', 'x-request-id': 'b\nc' })).toEqual({});
    expect(forwardableHeaders({ 'X-Conversation-Id': ' ok ', authorization: 'Bearer t' })).toEqual({
      'x-conversation-id': 'ok',
    });
  });

  it('gives each of two concurrent calls on one shared connection its own values', async () => {
    const runs = Array.from({ length: 6 }, (_, i) => ({
      token: i % 2 === 0 ? alice : bob,
      conversation: `parallel-${i}`,
    }));
    const answers = await Promise.all(
      runs.map((run) => whoamiRest(run.token, { 'x-conversation-id': run.conversation })),
    );
    answers.forEach((seen, i) =>
      expect(seen).toMatchObject({ 'x-api-key': `conv=${runs[i]?.conversation}` }),
    );
    for (const run of runs) expect(upstreamFor(run.conversation)).toHaveLength(1);
  });

  it('fills them on a tools/call through /mcp, and only on that call', async () => {
    const before = probe.lastHeaders().length;
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${bob}`, 'x-conversation-id': 'gateway-1' } },
    });
    const client = new Client({ name: 'request-headers-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const result = await client.callTool({ name: 'probe__whoami', arguments: {} });
    const content = result.content as Array<{ text: string }>;
    expect(JSON.parse(content[0]?.text ?? 'null')).toMatchObject({ 'x-api-key': 'conv=gateway-1' });
    // The relay connection's initialize and other requests ran outside the call: only the call has it.
    const sent = probe
      .lastHeaders()
      .slice(before)
      .filter((h) => h['x-api-key'] === 'conv=gateway-1');
    expect(sent).toHaveLength(1);
  });
});
