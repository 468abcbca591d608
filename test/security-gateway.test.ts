import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, type RunningEverything } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { textOf } from './support/mcp-helpers.js';
import { startRecordingFront, type RecordingFront } from './support/recording-front.js';
import { apiClient, startServersHub, type ApiClient, type ServersTestHub } from './support/servers-hub.js';

/** The secret header value each V-03 server is created with; the canary must never see it after revocation. */
const secretOf = (label: string) => `sk-canary-${label}-0f3b9a7c51d2e8`;

/** Two names of 57 characters that share their first 55: what the old 8-hex suffix kept of a long name. */
const LONG_PREFIX = `team-notes-${'x'.repeat(44)}`;
const VICTIM_SERVER = `${LONG_PREFIX}-a`;
const ATTACKER_SERVER = `${LONG_PREFIX}-b`;

/**
 * Before issue 10 a long exposed name was its first 55 characters, `_`, and 8 hex digits of
 * sha256(`<server>__<tool>`). Finds a victim tool and an attacker tool whose old names are equal.
 * The birthday bound (about 2^16 tries, both names free) keeps this fast; an attacker who must match
 * a victim's given tool needs about 2^32 hashes (minutes), and 2^80 against the new suffix.
 */
function oldSuffixCollision(): { victimTool: string; attackerTool: string } {
  const suffix = (server: string, tool: string) =>
    createHash('sha256').update(`${server}__${tool}`).digest('hex').slice(0, 8);
  const victims = new Map<string, string>();
  const attackers = new Map<string, string>();
  for (let i = 0; ; i += 1) {
    const victimTool = `report-${i}`;
    const attackerTool = `rep0rt-${i}`;
    const v = suffix(VICTIM_SERVER, victimTool);
    const a = suffix(ATTACKER_SERVER, attackerTool);
    victims.set(v, victimTool);
    attackers.set(a, attackerTool);
    const match = victims.get(a);
    if (match !== undefined) return { victimTool: match, attackerTool };
    const other = attackers.get(v);
    if (other !== undefined) return { victimTool, attackerTool: other };
  }
}

/** Issue 10, the `/mcp` gateway: access is decided on every request, and names never mislead. */
describe('/mcp decides on every request, and its names are injective', () => {
  let hub: ServersTestHub;
  /** A second instance over the same database: hears nothing of what happens on the first. */
  let other: ServersTestHub;
  let api: ApiClient;
  let base: string;
  let otherBase: string;
  let everything: RunningEverything;
  let canary: RecordingFront;
  let adminProbe: ProbeServer;
  let colProbe: ProbeServer;
  let colBProbe: ProbeServer;
  let victimProbe: ProbeServer;
  let attackerProbe: ProbeServer;
  let reuseProbe: ProbeServer;
  let attackerFront: RecordingFront;
  const tokens = { alice: '', bob: '', mallory: '', ada: '', eve: '', root: '' };
  const ids = { alice: '', bob: '', mallory: '', ada: '', eve: '', root: '' };
  const clients: Client[] = [];
  const collision = oldSuffixCollision();

  async function session(token: string, at: string, path = '/mcp'): Promise<Client> {
    const client = new Client({ name: 'security-gateway', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${at}${path}`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    clients.push(client);
    return client;
  }

  async function createServer(token: string, title: string, url: string, secret?: string): Promise<string> {
    const res = await api.post('/api/mcp/servers', token, {
      config: {
        type: 'streamable-http',
        url,
        title,
        ...(secret === undefined ? {} : { headers: { 'X-Api-Key': secret } }),
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ serverName: string }>().serverName;
  }

  const shareWith = async (token: string, name: string, principals: object[]) => {
    const res = await api.put(`/api/mcp/servers/${name}/permissions`, token, { principals });
    expect(res.statusCode, res.body).toBe(200);
  };

  beforeAll(async () => {
    [everything, adminProbe, colProbe, colBProbe, victimProbe, attackerProbe, reuseProbe] = await Promise.all(
      [
        startEverything('streamableHttp'),
        startProbeServer(),
        startProbeServer(),
        startProbeServer(),
        startProbeServer(),
        startProbeServer(),
        startProbeServer(),
      ],
    );
    canary = await startRecordingFront(everything.url);
    attackerFront = await startRecordingFront(attackerProbe.url);
    colProbe.addTool('b__echo');
    victimProbe.addTool(collision.victimTool);
    attackerProbe.addTool(collision.attackerTool);
    const yaml = `
mcpSettings:
  allowedDomains: ['127.0.0.1']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  adminonly:
    type: streamable-http
    url: ${adminProbe.url}
    access: { roles: [ADMIN] }
  col:
    type: streamable-http
    url: ${colProbe.url}
  col__b:
    type: streamable-http
    url: ${colBProbe.url}
`;
    hub = await startServersHub({ yaml });
    other = await startServersHub({ yaml, env: { DATA_DIR: hub.dataDir } });
    api = apiClient(hub.app);
    for (const h of [hub, other]) await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    otherBase = `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}`;
    for (const name of ['alice', 'bob', 'mallory', 'ada', 'eve', 'root'] as const) {
      const admin = name === 'ada' || name === 'eve' || name === 'root';
      tokens[name] = await hub.userToken(`${name}@example.com`, admin ? 'ADMIN' : 'USER');
      ids[name] = (await hub.repos.users.findByEmail(`${name}@example.com`))!.id;
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await other?.dispose();
    await hub?.dispose();
    await Promise.all([canary?.close(), attackerFront?.close()]);
    await Promise.all(
      [everything, adminProbe, colProbe, colBProbe, victimProbe, attackerProbe, reuseProbe].map((p) =>
        p?.stop(),
      ),
    );
  });

  describe('V-03: a revoked server stops working in an open /mcp session, on every instance', () => {
    /** How each way of losing access is done: on the first instance, or straight in the database. */
    const revocations: Array<{ label: string; revoke: (name: string) => Promise<void> }> = [
      {
        label: 'its owner unshares it',
        revoke: (name) => shareWith(tokens.alice, name, []),
      },
      {
        label: 'its owner deletes it',
        revoke: async (name) => {
          expect((await api.del(`/api/mcp/servers/${name}`, tokens.alice)).statusCode).toBe(200);
        },
      },
      {
        label: 'B leaves the group it was shared with',
        revoke: async () => {
          const team = await hub.repos.groups.findByName('v03-team');
          expect(await hub.repos.groups.removeMember(team!.id, ids.bob)).toBe(true);
        },
      },
    ];

    for (const [index, { label, revoke }] of revocations.entries()) {
      it(`V-03: ${label} → B's next tools/call, resources/read, prompts/get and completion fail on another instance; the secret header is never sent again`, async () => {
        const secret = secretOf(`r${index}`);
        const name = await createServer(tokens.alice, `V03 Secret ${index}`, canary.url, secret);
        if (label.includes('group')) {
          const team = await hub.repos.groups.create('v03-team');
          await hub.repos.groups.addMember(team.id, ids.bob);
          await shareWith(tokens.alice, name, [{ type: 'group', name: 'v03-team', role: 'viewer' }]);
        } else {
          await shareWith(tokens.alice, name, [{ type: 'user', email: 'bob@example.com', role: 'viewer' }]);
        }

        // B works through the second instance, which hears nothing of changes made on the first.
        const bob = await session(tokens.bob, otherBase);
        const direct = await session(tokens.bob, otherBase, `/mcp/servers/${name}`);
        const tool = `${name}__echo`;
        expect((await bob.listTools()).tools.map((t) => t.name)).toContain(tool);
        expect(textOf(await bob.callTool({ name: tool, arguments: { message: 'before' } }))).toBe(
          'Echo: before',
        );
        const resource = (await bob.listResources()).resources.find((r) =>
          r.uri.startsWith(`switchboard://${name}/`),
        );
        const prompt = `${name}__simple-prompt`;
        expect((await bob.listPrompts()).prompts.map((p) => p.name)).toContain(prompt);
        expect(resource).toBeDefined();
        await bob.readResource({ uri: resource!.uri });
        await bob.getPrompt({ name: prompt });
        await direct.listTools();
        const sentBefore = canary.requests.filter((r) => r.headers['x-api-key'] === secret).length;
        expect(sentBefore).toBeGreaterThan(0); // the canary does see the header while B may use the server

        await revoke(name);
        const after = canary.requests.length;

        await expect(bob.callTool({ name: tool, arguments: { message: 'after' } })).rejects.toThrow(
          /Unknown tool/,
        );
        await expect(bob.readResource({ uri: resource!.uri })).rejects.toThrow(/Unknown resource/);
        await expect(bob.getPrompt({ name: prompt })).rejects.toThrow(/Unknown prompt/);
        await expect(
          bob.complete({
            ref: { type: 'ref/prompt', name: `${name}__completable-prompt` },
            argument: { name: 'department', value: 'E' },
          }),
        ).rejects.toThrow(/Unknown prompt/);
        await expect(direct.listTools()).rejects.toThrow();
        expect((await bob.listTools()).tools.map((t) => t.name)).not.toContain(tool);

        // A POST whose body has no method is the hub's late answer to a request the upstream itself
        // sent before the revocation (server-everything asks every new connection for its roots),
        // on a connection the owner still uses: nothing B does after the revocation starts one.
        const answer = (r: { httpMethod: string; rpcMethods: string[] }) =>
          r.httpMethod === 'POST' && r.rpcMethods.length === 0;
        const leaked = canary.requests
          .slice(after)
          .filter((r) => r.headers['x-api-key'] === secret && !answer(r));
        expect(leaked).toEqual([]);
      });
    }

    it('V-03: a name shown for a server that another user re-created under the same name is refused, not routed to the newcomer', async () => {
      const name = await createServer(tokens.alice, 'V03 Reused Name', reuseProbe.url);
      await shareWith(tokens.alice, name, [{ type: 'user', email: 'bob@example.com', role: 'viewer' }]);
      const bob = await session(tokens.bob, base);
      expect((await bob.listTools()).tools.map((t) => t.name)).toContain(`${name}__echo`);

      expect((await api.del(`/api/mcp/servers/${name}`, tokens.alice)).statusCode).toBe(200);
      const taken = await createServer(tokens.mallory, 'V03 Reused Name', attackerFront.url);
      expect(taken).toBe(name);
      await shareWith(tokens.mallory, name, [{ type: 'user', email: 'bob@example.com', role: 'viewer' }]);
      const calls = () => attackerFront.requests.filter((r) => r.rpcMethods.includes('tools/call')).length;
      const before = calls();

      await expect(
        bob.callTool({ name: `${name}__echo`, arguments: { message: 'for alice' } }),
      ).rejects.toThrow(/Unknown tool/);
      expect(calls()).toBe(before);
    });
  });

  it('V-04: an admin demoted to USER loses an admin-only server inside the /mcp session already open', async () => {
    const ada = await session(tokens.ada, base);
    const direct = await session(tokens.ada, base, '/mcp/servers/adminonly');
    expect((await ada.listTools()).tools.map((t) => t.name)).toContain('adminonly__echo');
    expect(textOf(await ada.callTool({ name: 'adminonly__echo', arguments: { message: 'as admin' } }))).toBe(
      'Echo: as admin',
    );
    expect((await direct.listTools()).tools.map((t) => t.name)).toContain('echo');

    await hub.repos.users.setRole(ids.ada, 'USER');
    hub.identity.forget(ids.ada);
    const requests = adminProbe.requests;

    await expect(
      ada.callTool({ name: 'adminonly__echo', arguments: { message: 'as user' } }),
    ).rejects.toThrow(/Unknown tool/);
    expect((await ada.listTools()).tools.map((t) => t.name)).not.toContain('adminonly__echo');
    await expect(direct.callTool({ name: 'echo', arguments: { message: 'as user' } })).rejects.toThrow();
    expect(adminProbe.requests).toBe(requests);
  });

  it('V-04: through the admin operations: a demoted admin loses the admin-only server in the open session, and a disabled one gets 401 on its next request', async () => {
    const eve = await session(tokens.eve, base);
    expect(textOf(await eve.callTool({ name: 'adminonly__echo', arguments: { message: 'admin' } }))).toBe(
      'Echo: admin',
    );
    const root = await hub.identity.identityOf(ids.root);
    expect(root?.role).toBe('ADMIN');

    await hub.accounts.update(root, ids.eve, { role: 'USER' });
    await expect(eve.callTool({ name: 'adminonly__echo', arguments: { message: 'user' } })).rejects.toThrow(
      /Unknown tool/,
    );
    expect(textOf(await eve.callTool({ name: 'col__echo', arguments: { message: 'still in' } }))).toBe(
      'Echo: still in',
    );

    await hub.accounts.update(root, ids.eve, { disabled: true });
    await expect(eve.listTools()).rejects.toMatchObject({ code: 401, message: /Authentication required/ });
  });

  describe('V-08: exposed names never collide, and never route a call to another server', () => {
    it('V-08, IV-10: YAML servers col (tool b__echo) and col__b (tool echo) both get a name of their own, and each call reaches its own server', async () => {
      const client = await session(tokens.bob, base);
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(new Set(names).size).toBe(names.length);
      const fromCol = tools.filter((t) => t.description === 'Added at run time: answers "I am b__echo"');
      const fromColB = tools.filter(
        (t) => t.description === 'Echoes the message back' && t.name.startsWith('col__b__'),
      );
      expect(fromCol).toHaveLength(1);
      expect(fromColB).toHaveLength(1);
      const [mine, theirs] = [fromCol[0]!, fromColB[0]!];
      expect(mine.name).not.toBe(theirs.name);
      for (const name of [mine.name, theirs.name]) {
        expect(name).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
        expect(name.startsWith('col__b__echo')).toBe(true);
      }
      // Neither keeps the ambiguous name: a call to it is an error, not a guess.
      expect(names).not.toContain('col__b__echo');
      await expect(client.callTool({ name: 'col__b__echo', arguments: { message: 'x' } })).rejects.toThrow(
        /Unknown tool/,
      );

      const colBBefore = colBProbe.requests;
      expect(textOf(await client.callTool({ name: mine.name, arguments: {} }))).toBe('I am b__echo');
      expect(colBProbe.requests).toBe(colBBefore);
      const colBefore = colProbe.requests;
      expect(textOf(await client.callTool({ name: theirs.name, arguments: { message: 'hi' } }))).toBe(
        'Echo: hi',
      );
      expect(colProbe.requests).toBe(colBefore);
    });

    it("V-08: a tool on another user's shared server, crafted to collide with the name of the caller's own tool, never receives the caller's calls", async () => {
      const victim = await createServer(tokens.bob, VICTIM_SERVER, victimProbe.url);
      const attacker = await createServer(tokens.mallory, ATTACKER_SERVER, attackerFront.url);
      expect([victim, attacker]).toEqual([VICTIM_SERVER, ATTACKER_SERVER]);
      await shareWith(tokens.mallory, attacker, [{ type: 'user', email: 'bob@example.com', role: 'viewer' }]);

      const client = await session(tokens.bob, base);
      const { tools } = await client.listTools();
      const describes = (t: Tool, tool: string) =>
        t.description === `Added at run time: answers "I am ${tool}"`;
      const mine = tools.filter((t) => describes(t, collision.victimTool));
      expect(mine).toHaveLength(1);
      // Mallory's tool is in B's catalog too (on every server of hers shared with B).
      expect(tools.some((t) => describes(t, collision.attackerTool))).toBe(true);

      const calls = () => attackerFront.requests.filter((r) => r.rpcMethods.includes('tools/call')).length;
      const before = calls();
      for (let i = 0; i < 3; i += 1) {
        expect(textOf(await client.callTool({ name: mine[0]!.name, arguments: {} }))).toBe(
          `I am ${collision.victimTool}`,
        );
      }
      const names = tools.map((t) => t.name);
      expect(new Set(names).size).toBe(names.length);
      expect(calls()).toBe(before);
    });
  });
});
