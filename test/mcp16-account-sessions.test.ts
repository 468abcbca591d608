import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lateLogCommand } from './peers/late-log.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { textOf } from './support/mcp-helpers.js';

/**
 * A removed or disabled user's connections close on every instance (AZ-12), including the ones a
 * downstream session holds of its own to an app-level server (a client with roots on a stdio
 * server: session-upstreams.ts). Their pool key names the user only as the session's owner
 * (`relay|session|<id>|<owner>|app|<server>`), so a check of the key's user alone left them open.
 */
describe('account changes close session-bound connections', () => {
  let hub: TestHub;
  let base: string;
  let admin: string;
  const clients: Client[] = [];

  /** A per-server session of `email` on the app-level server whose client declares roots, with a connection of its own. */
  async function boundSession(email: string): Promise<{ key: string; client: Client }> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/servers/shared`), {
      requestInit: { headers: { authorization: `Bearer ${await hub.userToken(email)}` } },
    });
    const client = new Client({ name: 'mcp16-accounts', version: '1.0.0' }, { capabilities: { roots: {} } });
    client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [] }));
    clients.push(client);
    await client.connect(transport);
    expect(textOf(await client.callTool({ name: 'log-later', arguments: { text: 'x' } }))).toBe('scheduled');
    const own = hub.pool.keys().filter((k) => k.startsWith(`relay|session|${String(transport.sessionId)}|`));
    expect(own).toHaveLength(1);
    return { key: own[0] ?? '', client };
  }

  const userId = async (email: string) => (await hub.repos.users.findByEmail(email))!.id;

  beforeAll(async () => {
    const late = lateLogCommand();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  shared:
    command: ${JSON.stringify(late.command)}
    args: ${JSON.stringify(late.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    admin = await hub.userToken('root@example.com', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
  });

  it('disabling a user closes their session’s own connection to an app-level server; another user’s stays', async () => {
    const gina = await boundSession('gina@example.com');
    const harry = await boundSession('harry@example.com');
    expect(gina.key).toMatch(/\|app\|shared$/);
    await hub.accounts.update(null, await userId('gina@example.com'), { disabled: true });
    await expect.poll(() => hub.pool.keys()).not.toContain(gina.key);
    expect(hub.pool.keys()).toContain(harry.key);
    expect(hub.pool.state(harry.key)).toBe('connected');
  });

  it('removing a user through the admin API closes their session’s own connection to an app-level server', async () => {
    const ivan = await boundSession('ivan@example.com');
    const judy = await boundSession('judy@example.com');
    const removed = await hub.app.inject({
      method: 'DELETE',
      url: `/api/admin/users/${await userId('ivan@example.com')}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    await expect.poll(() => hub.pool.keys()).not.toContain(ivan.key);
    expect(hub.pool.keys()).toContain(judy.key);
  });
});
