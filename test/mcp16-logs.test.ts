import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type ClientCapabilities,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lateLogCommand } from './peers/late-log.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

type Heard = LoggingMessageNotification['params'];

/**
 * Issue 16: log messages an upstream sends while none of its connection's requests is in flight (on
 * a timer, or after the call that caused them answered) reach the downstream sessions entitled to
 * them: the sessions of the connection's own user (user-level server) on /mcp and on that server's
 * /mcp/servers/:name, each at the level it set; never another user's session, and nobody for an
 * app-level server's connection every user shares. Real stdio server (late-log-server.mjs) whose
 * `log-later` tool answers first and logs 50 ms later.
 */
describe('log messages outside calls', () => {
  let hub: TestHub;
  let base: string;
  const clients: Client[] = [];

  /** A client of `path` as `email` that keeps every log message it hears. */
  async function listening(
    path: string,
    email: string,
    capabilities: ClientCapabilities = {},
  ): Promise<{ client: Client; heard: Heard[] }> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${await hub.userToken(email)}` } },
    });
    const client = new Client({ name: 'mcp16-logs', version: '1.0.0' }, { capabilities });
    const heard: Heard[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.push(n.params));
    if (capabilities.roots) client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
    clients.push(client);
    await client.connect(transport);
    return { client, heard };
  }

  const logLater = async (client: Client, name: string, text: string, level = 'info') =>
    textOf(await client.callTool({ name, arguments: { text, level } }));
  const texts = (heard: Heard[]) => heard.map((h) => h.data);

  beforeAll(async () => {
    const late = lateLogCommand();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  # startup: false makes it user-level: each user has a connection of their own.
  late:
    command: ${JSON.stringify(late.command)}
    args: ${JSON.stringify(late.args)}
    startup: false
  # App-level: one connection every user shares.
  late-shared:
    command: ${JSON.stringify(late.command)}
    args: ${JSON.stringify(late.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
  });

  it('/mcp/servers/late: a message logged after the call answered reaches the session; another user’s session hears none of it', async () => {
    const alice = await listening('/mcp/servers/late', 'alice@example.com');
    const bob = await listening('/mcp/servers/late', 'bob@example.com');
    await bob.client.listTools();
    expect(await logLater(alice.client, 'log-later', 'alice-after')).toBe('scheduled');
    await expect.poll(() => texts(alice.heard)).toEqual(['alice-after']);
    // bob's own message afterwards: once he hears it, alice's would have reached him before.
    expect(await logLater(bob.client, 'log-later', 'bob-after')).toBe('scheduled');
    await expect.poll(() => texts(bob.heard)).toEqual(['bob-after']);
    expect(texts(alice.heard)).toEqual(['alice-after']);
  });

  it('/mcp/servers/late: each session hears messages at or above the level it set', async () => {
    const quiet = await listening('/mcp/servers/late', 'carol@example.com');
    const loud = await listening('/mcp/servers/late', 'carol@example.com');
    await quiet.client.setLoggingLevel('error');
    // The connection is carol's, shared by both her sessions: the upstream now sends from debug up.
    await loud.client.setLoggingLevel('debug');
    expect(await logLater(loud.client, 'log-later', 'an info', 'info')).toBe('scheduled');
    await expect.poll(() => texts(loud.heard)).toEqual(['an info']);
    expect(await logLater(loud.client, 'log-later', 'an error', 'error')).toBe('scheduled');
    await expect.poll(() => texts(quiet.heard)).toEqual(['an error']);
    await expect.poll(() => texts(loud.heard)).toEqual(['an info', 'an error']);
  });

  it('/mcp: the user’s own server’s message outside a call reaches each of their sessions, its logger naming the server; not another user’s', async () => {
    const first = await listening('/mcp', 'dave@example.com');
    const second = await listening('/mcp', 'dave@example.com');
    const other = await listening('/mcp', 'erin@example.com');
    await Promise.all([second.client.listTools(), other.client.listTools()]);
    expect(await logLater(first.client, 'late__log-later', 'dave-after')).toBe('scheduled');
    await expect.poll(() => first.heard).toEqual([{ level: 'info', logger: 'late', data: 'dave-after' }]);
    await expect.poll(() => texts(second.heard)).toEqual(['dave-after']);
    expect(await logLater(other.client, 'late__log-later', 'erin-after')).toBe('scheduled');
    await expect.poll(() => texts(other.heard)).toEqual(['erin-after']);
    expect(texts(first.heard)).toEqual(['dave-after']);
  });

  it('an app-level server’s shared connection: a message outside a call reaches no session', async () => {
    const aggregated = await listening('/mcp', 'frank@example.com');
    const perServer = await listening('/mcp/servers/late-shared', 'frank@example.com');
    await perServer.client.listTools();
    expect(await logLater(aggregated.client, 'late-shared__log-later', 'shared-after')).toBe('scheduled');
    // A message on frank's own connection, logged after the shared one: once heard, the shared one had its chance.
    expect(await logLater(aggregated.client, 'late__log-later', 'own-after')).toBe('scheduled');
    await expect.poll(() => texts(aggregated.heard)).toContain('own-after');
    expect(texts(aggregated.heard)).toEqual(['own-after']);
    expect(perServer.heard).toEqual([]);
  });

  it('a session’s own connection to an app-level server (a client with roots): its messages outside calls reach that session only', async () => {
    const mine = await listening('/mcp/servers/late-shared', 'grace@example.com', { roots: {} });
    const sibling = await listening('/mcp/servers/late-shared', 'grace@example.com', { roots: {} });
    await sibling.client.setLoggingLevel('debug'); // opens the sibling's own connection
    expect(await logLater(mine.client, 'log-later', 'bound-after')).toBe('scheduled');
    await expect.poll(() => texts(mine.heard)).toEqual(['bound-after']);
    expect(await logLater(sibling.client, 'log-later', 'sibling-after')).toBe('scheduled');
    await expect.poll(() => texts(sibling.heard)).toEqual(['sibling-after']);
    expect(texts(mine.heard)).toEqual(['bound-after']);
  });
});
