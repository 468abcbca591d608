import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, type RunningEverything } from './peers/everything.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import {
  apiClient,
  startServersHub,
  type ApiClient,
  type ApiResponse,
  type ServersTestHub,
} from './support/servers-hub.js';

const ROLES_WITH_SHARING = `
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`;

/** Issue 5 item 2: sharing user-created servers, and who may do what with them. */
describe('user-created servers: sharing and the ACL', () => {
  let hub: ServersTestHub;
  let api: ApiClient;
  let probe: ProbeServer;
  let everything: RunningEverything;
  const tokens: Record<'alice' | 'bob' | 'carol' | 'dave' | 'eve' | 'root', string> = {
    alice: '',
    bob: '',
    carol: '',
    dave: '',
    eve: '',
    root: '',
  };
  const ids: Record<string, string> = {};

  const create = async (title: string, url = probe.url): Promise<string> => {
    const res = await api.post('/api/mcp/servers', tokens.alice, {
      config: { type: 'streamable-http', url, title, headers: { 'X-Api-Key': `key-of-${title}` } },
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ serverName: string }>().serverName;
  };
  const share = (name: string, body: unknown, token = tokens.alice): Promise<ApiResponse> =>
    api.put(`/api/mcp/servers/${name}/permissions`, token, body);
  const call = (server: string, token: string) =>
    api.post(`/api/mcp/${server}/tools/echo/call`, token, { arguments: { message: 'hi' } });
  const toolServers = async (token: string): Promise<string[]> =>
    Object.keys((await api.get('/api/mcp/tools', token)).json<{ servers: object }>().servers);
  const listed = async (token: string): Promise<string[]> =>
    Object.keys((await api.get('/api/mcp/servers?limit=100', token)).json());
  const keyOf = (user: string, server: string) => `user|${ids[user]}|${server}`;

  beforeAll(async () => {
    [probe, everything] = await Promise.all([startProbeServer(), startEverything('streamableHttp')]);
    const allowed = [probe.url, everything.url].map((u) => `'127.0.0.1:${new URL(u).port}'`).join(', ');
    hub = await startServersHub({
      yaml: `mcpSettings:\n  allowedDomains: [${allowed}]\n${ROLES_WITH_SHARING}`,
    });
    api = apiClient(hub.app);
    for (const name of ['alice', 'bob', 'carol', 'dave', 'eve'] as const) {
      tokens[name] = await hub.userToken(`${name}@example.com`);
      ids[name] = (await hub.repos.users.findByEmail(`${name}@example.com`))!.id;
    }
    tokens.root = await hub.userToken('root@example.com', 'ADMIN');
    ids.root = (await hub.repos.users.findByEmail('root@example.com'))!.id;
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([probe?.stop(), everything?.stop()]);
  });

  it('the README flow: alice creates from a URL, shares with bob as viewer; bob uses it but cannot change it; alice deletes it and bob’s connection closes', async () => {
    const created = await api.post('/api/mcp/servers', tokens.alice, {
      config: { type: 'streamable-http', url: everything.url, title: 'Everything' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ serverName: 'everything', source: 'user', url: everything.url });

    const shared = await share('everything', {
      principals: [{ type: 'user', email: 'bob@example.com', role: 'viewer' }],
    });
    expect(shared.statusCode).toBe(200);
    expect(shared.json()).toEqual({
      serverName: 'everything',
      owner: { id: ids.alice, email: 'alice@example.com' },
      public: null,
      principals: [
        { type: 'user', id: ids.alice, email: 'alice@example.com', role: 'owner' },
        // V-13: grantees are shown by address, as an address without an account would be.
        { type: 'user', email: 'bob@example.com', role: 'viewer' },
      ],
    });

    const asBob = await api.get('/api/mcp/servers', tokens.bob);
    expect(asBob.json()).toMatchObject({
      everything: { serverName: 'everything', source: 'user', type: 'streamable-http' },
    });
    // A viewer learns what the server is, not where it is or how it authenticates.
    expect(asBob.json<Record<string, object>>().everything).not.toHaveProperty('url');

    const echo = await call('everything', tokens.bob);
    expect(echo.statusCode).toBe(200);
    expect(echo.json()).toMatchObject({ content: [{ type: 'text', text: 'Echo: hi' }] });
    expect(hub.pool.state(keyOf('bob', 'everything'))).toBe('connected');
    const bobTools = (await api.get('/api/mcp/tools', tokens.bob)).json<{
      servers: Record<string, { tools: Array<{ name: string }> }>;
    }>();
    expect(bobTools.servers.everything!.tools.map((t) => t.name)).toContain('echo');

    const edit = await api.patch('/api/mcp/servers/everything', tokens.bob, {
      config: { type: 'streamable-http', url: everything.url, title: 'Mine now' },
    });
    expect(edit.statusCode).toBe(403);
    expect((await api.del('/api/mcp/servers/everything', tokens.bob)).statusCode).toBe(403);
    expect((await share('everything', { principals: [] }, tokens.bob)).statusCode).toBe(403);

    const deleted = await api.del('/api/mcp/servers/everything', tokens.alice);
    expect(deleted.json()).toEqual({ success: true, message: 'MCP server deleted successfully' });
    expect(hub.pool.state(keyOf('bob', 'everything'))).toBe('disconnected');
    expect(await toolServers(tokens.bob)).not.toContain('everything');
    expect((await call('everything', tokens.bob)).statusCode).toBe(404);
    expect((await api.get('/api/mcp/connection/status/everything', tokens.bob)).statusCode).toBe(404);
  });

  describe('the role × ACL matrix (owner, viewer, editor, stranger, admin × GET/PATCH/DELETE/share)', () => {
    type Actor = 'owner' | 'viewer' | 'editor' | 'stranger' | 'admin';
    const tokenOf = (actor: Actor): string =>
      ({
        owner: tokens.alice,
        viewer: tokens.bob,
        editor: tokens.carol,
        stranger: tokens.dave,
        admin: tokens.root,
      })[actor];
    const expected: Record<
      Actor,
      { get: number; patch: number; del: number; getShare: number; putShare: number }
    > = {
      owner: { get: 200, patch: 200, del: 200, getShare: 200, putShare: 200 },
      viewer: { get: 200, patch: 403, del: 403, getShare: 403, putShare: 403 },
      editor: { get: 200, patch: 200, del: 403, getShare: 403, putShare: 403 },
      stranger: { get: 404, patch: 404, del: 404, getShare: 404, putShare: 404 },
      admin: { get: 200, patch: 200, del: 200, getShare: 200, putShare: 200 },
    };
    const grants = [
      { type: 'user', email: 'bob@example.com', role: 'viewer' },
      { type: 'user', email: 'carol@example.com', role: 'editor' },
    ];

    it.each(Object.keys(expected) as Actor[])('%s', async (actor) => {
      const name = await create(`Matrix ${actor}`);
      expect((await share(name, { principals: grants })).statusCode).toBe(200);
      const token = tokenOf(actor);
      const want = expected[actor];
      const before = await hub.repos.servers.findByName(name);
      const aclBefore = await hub.repos.acl.listForResource(before!.id);

      const get = await api.get(`/api/mcp/servers/${name}`, token);
      expect(get.statusCode, 'GET').toBe(want.get);
      const getShare = await api.get(`/api/mcp/servers/${name}/permissions`, token);
      expect(getShare.statusCode, 'GET permissions').toBe(want.getShare);
      const putShare = await share(name, { principals: grants }, token);
      expect(putShare.statusCode, 'PUT permissions').toBe(want.putShare);
      const patch = await api.patch(`/api/mcp/servers/${name}`, token, {
        config: {
          type: 'streamable-http',
          url: probe.url,
          title: `Matrix ${actor}`,
          headers: { 'X-Api-Key': '***' },
        },
      });
      expect(patch.statusCode, 'PATCH').toBe(want.patch);
      if (want.patch !== 200) {
        // AZ-02: a refused change changes nothing.
        expect(await hub.repos.servers.findByName(name)).toEqual(before);
        expect(await hub.repos.acl.listForResource(before!.id)).toEqual(aclBefore);
      }
      // A 404 says the same as for a name that does not exist: existence does not leak.
      if (want.get === 404) {
        const missing = await api.get('/api/mcp/servers/no-such-name', token);
        expect(get.body.replace(name, 'no-such-name')).toBe(missing.body);
      }
      // Those who may edit see where the server is; a viewer sees what it is.
      if (want.get === 200 && want.patch === 200) expect(get.json<object>()).toHaveProperty('url');
      if (want.get === 200 && want.patch !== 200) expect(get.json<object>()).not.toHaveProperty('url');

      const del = await api.del(`/api/mcp/servers/${name}`, token);
      expect(del.statusCode, 'DELETE').toBe(want.del);
      const exists = (await hub.repos.servers.findByName(name)) !== null;
      expect(exists).toBe(want.del !== 200);
    });
  });

  describe('AZ-11: a revoked share takes effect on the next request', () => {
    it('the owner removes bob: his connection closes within the request and his next call is a 404', async () => {
      const name = await create('Revocable');
      await share(name, { principals: [{ type: 'user', id: ids.bob, role: 'viewer' }] });
      expect((await call(name, tokens.bob)).statusCode).toBe(200);
      expect(hub.pool.state(keyOf('bob', name))).toBe('connected');
      expect((await call(name, tokens.alice)).statusCode).toBe(200);

      const res = await share(name, { principals: [] });
      expect(res.json()).toMatchObject({ principals: [{ id: ids.alice, role: 'owner' }] });
      expect(hub.pool.state(keyOf('bob', name))).toBe('disconnected');
      expect(await hub.kv.get(`tools:${keyOf('bob', name)}`)).toBeNull();
      expect(hub.pool.state(keyOf('alice', name))).toBe('connected'); // the owner's stays
      expect((await call(name, tokens.bob)).statusCode).toBe(404);
      expect(await listed(tokens.bob)).not.toContain(name);
      expect(await toolServers(tokens.bob)).not.toContain(name);
    });

    it('an admin revokes a share the same way', async () => {
      const name = await create('Admin Revokes');
      await share(name, { principals: [{ type: 'user', email: 'carol@example.com', role: 'editor' }] });
      expect((await call(name, tokens.carol)).statusCode).toBe(200);
      expect((await share(name, { principals: [] }, tokens.root)).statusCode).toBe(200);
      expect(hub.pool.state(keyOf('carol', name))).toBe('disconnected');
      expect((await call(name, tokens.carol)).statusCode).toBe(404);
    });

    it('a group share: members use it; a member who leaves the group is refused on the next call', async () => {
      const team = await hub.repos.groups.create('team');
      await hub.repos.groups.addMember(team.id, ids.eve!);
      const name = await create('Team Server');
      const res = await share(name, { principals: [{ type: 'group', name: 'team', role: 'viewer' }] });
      expect(res.json()).toMatchObject({
        principals: [{ role: 'owner' }, { type: 'group', id: team.id, role: 'viewer' }],
      });
      expect((await call(name, tokens.eve)).statusCode).toBe(200);
      expect(await listed(tokens.eve)).toContain(name);
      expect((await call(name, tokens.dave)).statusCode).toBe(404);

      await hub.repos.groups.removeMember(team.id, ids.eve!);
      expect((await call(name, tokens.eve)).statusCode).toBe(404);
      // The same group again, by id, as the GET shows it.
      await hub.repos.groups.addMember(team.id, ids.eve!);
      expect(
        (await share(name, { principals: [{ type: 'group', id: team.id, role: 'editor' }] })).statusCode,
      ).toBe(200);
      expect((await api.get(`/api/mcp/servers/${name}`, tokens.eve)).json()).toHaveProperty('url');
    });
  });

  describe('public sharing', () => {
    it('needs SHARE_PUBLIC: refused for users here, allowed for admins; AZ-13 both ways', async () => {
      const name = await create('Public Candidate');
      expect(await listed(tokens.dave)).not.toContain(name);
      expect(await toolServers(tokens.dave)).not.toContain(name);

      const refused = await share(name, { public: 'viewer', principals: [] });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ message: 'Forbidden: Insufficient permissions' });

      const made = await share(name, { public: 'viewer', principals: [] }, tokens.root);
      expect(made.json()).toMatchObject({ public: 'viewer' });
      expect(await listed(tokens.dave)).toContain(name);
      expect((await call(name, tokens.dave)).statusCode).toBe(200);
      // Changing only the users leaves `public` alone when it is not sent; the owner needs no SHARE_PUBLIC for that.
      const kept = await share(name, {
        principals: [{ type: 'user', email: 'bob@example.com', role: 'viewer' }],
      });
      expect(kept.statusCode).toBe(200);
      expect(kept.json()).toMatchObject({ public: 'viewer' });

      const unmade = await share(name, { public: null, principals: [] }, tokens.root);
      expect(unmade.json()).toMatchObject({ public: null });
      expect(hub.pool.state(keyOf('dave', name))).toBe('disconnected');
      expect((await call(name, tokens.dave)).statusCode).toBe(404);
    });
  });

  describe('the permissions body', () => {
    let name: string;
    beforeAll(async () => {
      name = await create('Permissions Body');
    });

    it('an unknown user id or group is a 400 that names it (an address is not: V-13)', async () => {
      const group = await share(name, { principals: [{ type: 'group', name: 'ghosts', role: 'viewer' }] });
      expect(group.statusCode).toBe(400);
      expect(group.body).toContain('ghosts');
      const byId = await share(name, { principals: [{ type: 'user', id: 'no-such-id', role: 'viewer' }] });
      expect(byId.statusCode).toBe(400);
      expect(byId.body).toContain('no-such-id');
    });

    it('a principal given twice, or by both id and email, is a 400', async () => {
      for (const principals of [
        [
          { type: 'user', id: ids.bob, role: 'viewer' },
          { type: 'user', email: 'BOB@example.com', role: 'editor' },
        ],
        [{ type: 'user', id: ids.bob, email: 'bob@example.com', role: 'viewer' }],
        [{ type: 'user', role: 'viewer' }],
        [{ type: 'group', email: 'x@example.com', role: 'viewer' }],
      ]) {
        expect((await share(name, { principals })).statusCode, JSON.stringify(principals)).toBe(400);
      }
    });

    it('shapes outside the contract are a 400', async () => {
      for (const body of [
        { principals: [{ type: 'user', email: 'bob@example.com', role: 'admin' }] },
        { principals: [{ type: 'public', role: 'viewer' }] },
        { public: 'owner', principals: [] },
        { principals: 'bob' },
        {},
        { principals: [], extra: true },
      ]) {
        expect((await share(name, body)).statusCode, JSON.stringify(body)).toBe(400);
      }
    });

    it('the owner always stays owner; another user may be made an owner', async () => {
      const res = await share(name, {
        principals: [
          { type: 'user', id: ids.alice, role: 'viewer' },
          { type: 'user', email: 'carol@example.com', role: 'owner' },
        ],
      });
      expect(res.json()).toMatchObject({
        owner: { id: ids.alice },
        principals: [
          { id: ids.alice, role: 'owner' },
          { email: 'carol@example.com', role: 'owner' },
        ],
      });
      // carol now holds every bit: she may share and delete.
      expect((await api.get(`/api/mcp/servers/${name}/permissions`, tokens.carol)).statusCode).toBe(200);
      expect((await api.del(`/api/mcp/servers/${name}`, tokens.carol)).statusCode).toBe(200);
    });

    it('YAML servers are not shared through this API', async () => {
      const hubYaml = await startServersHub({
        yaml: `mcpServers:\n  file-server:\n    type: streamable-http\n    url: ${probe.url}\n    startup: false\n`,
      });
      try {
        const admin = await hubYaml.userToken('root@example.com', 'ADMIN');
        const res = await apiClient(hubYaml.app).get('/api/mcp/servers/file-server/permissions', admin);
        expect(res.statusCode).toBe(403);
      } finally {
        await hubYaml.dispose();
      }
    });
  });

  describe('with the default roles (USER has no SHARE)', () => {
    it('users create but cannot share with others; a PUT that changes nothing is allowed', async () => {
      const plain = await startServersHub({
        yaml: `mcpSettings:\n  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']\n`,
      });
      try {
        const client = apiClient(plain.app);
        const owner = await plain.userToken('alice@example.com');
        await plain.userToken('bob@example.com');
        const created = await client.post('/api/mcp/servers', owner, {
          config: { type: 'streamable-http', url: probe.url, title: 'Solo' },
        });
        expect(created.statusCode).toBe(201);
        const refused = await client.put('/api/mcp/servers/solo/permissions', owner, {
          principals: [{ type: 'user', email: 'bob@example.com', role: 'viewer' }],
        });
        expect(refused.statusCode).toBe(403);
        expect(
          (await client.put('/api/mcp/servers/solo/permissions', owner, { principals: [] })).statusCode,
        ).toBe(200);
        expect((await client.get('/api/mcp/servers/solo/permissions', owner)).statusCode).toBe(200);
      } finally {
        await plain.dispose();
      }
    });
  });

  it('the audit log records each share with who, what and which grants, and no secrets', async () => {
    const res = await api.get('/api/admin/audit?limit=100', tokens.root);
    const shares = res
      .json<{
        events: Array<{
          action: string;
          actorId: string;
          targetId: string;
          details: Record<string, unknown>;
        }>;
      }>()
      .events.filter((e) => e.action === 'server.share' && e.targetId === 'revocable');
    expect(shares.map((e) => e.details.principals)).toEqual([[], [`user:${ids.bob}:viewer`]]);
    expect(shares.every((e) => e.actorId === ids.alice)).toBe(true);
    expect(res.body).not.toContain('key-of-');
  });
});
