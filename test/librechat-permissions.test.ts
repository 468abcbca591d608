import { isAxiosError } from 'axios';
import {
  dataService,
  effectivePermissionsResponseSchema,
  getResourcePermissionsResponseSchema,
  PrincipalType,
  ResourceType,
  setTokenHeader,
  updateResourcePermissionsResponseSchema,
  type AccessRolesResponse,
  type PrincipalSearchResponse,
  type TAllEffectivePermissionsResponse,
  type TGetResourcePermissionsResponse,
  type TUpdateResourcePermissionsResponse,
} from 'librechat-data-provider';
import { pointLibreChatClientAt, resetLibreChatClient } from './support/librechat-client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startServersHub, type ServersTestHub } from './support/servers-hub.js';

type Caller = 'owner' | 'editor' | 'viewer' | 'stranger' | 'admin';

/** An address no account has: granted, it must read exactly like one that has an account. */
const NO_ACCOUNT = 'nobody-yet@example.com';

/** The status and body a package call was refused with (the package rejects with axios's error). */
async function refusal(call: Promise<unknown>): Promise<{ status: number | undefined; body: unknown }> {
  try {
    await call;
    return { status: 200, body: undefined };
  } catch (error) {
    if (isAxiosError(error)) return { status: error.response?.status, body: error.response?.data };
    throw error;
  }
}

/**
 * The package's schema for this answer types `resourceId` as an access-role id (an upstream slip:
 * LibreChat's own server answers the resource's id there), so that one field is left out here and
 * compared with the server's id by each test.
 */
const permissionsAnswer = getResourcePermissionsResponseSchema.omit({ resourceId: true });

/**
 * LibreChat's access-permission calls for resource type `mcpServer`, driven through
 * `librechat-data-provider` against a hub on a real port, as the owner, an editor, a viewer, a
 * stranger and an admin. `resourceId` is the server's `dbId`; every call lands on the hub's one
 * sharing model (the same entries `/api/mcp/servers/:serverName/permissions` shows).
 */
describe('librechat-data-provider: access permissions for mcpServer', () => {
  let hub: ServersTestHub;
  let probe: ProbeServer;
  const tokens: Record<Caller, string> = { owner: '', editor: '', viewer: '', stranger: '', admin: '' };
  let dbId = '';
  let ownerId = '';
  let groupId = '';
  const as = (caller: Caller): void => setTokenHeader(tokens[caller]);

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
`,
    });
    await pointLibreChatClientAt(hub.app);
    tokens.owner = await hub.userToken('owner@example.com');
    tokens.editor = await hub.userToken('editor@example.com');
    tokens.viewer = await hub.userToken('viewer@example.com');
    tokens.stranger = await hub.userToken('stranger@example.com');
    tokens.admin = await hub.userToken('admin@example.com', 'ADMIN');
    ownerId = (await hub.repos.users.findByEmail('owner@example.com'))!.id;
    const group = await hub.repos.groups.create('team-alpha');
    groupId = group.id;
    await hub.repos.groups.addMember(groupId, (await hub.repos.users.findByEmail('viewer@example.com'))!.id);
    as('owner');
    const created = await dataService.createMCPServer({
      config: { type: 'streamable-http', url: probe.url, title: 'Permissions probe' },
    });
    dbId = created.dbId ?? '';
    expect(dbId).toBe((await hub.repos.servers.findByName(created.serverName))!.id);
  }, 60_000);

  afterAll(async () => {
    resetLibreChatClient();
    await hub?.dispose();
    await probe?.stop();
  });

  it('getAccessRoles: viewer, editor and owner with the hub’s bits', async () => {
    as('viewer');
    const roles: AccessRolesResponse = await dataService.getAccessRoles(ResourceType.MCPSERVER);
    expect(roles.map((r) => [r.accessRoleId, r.permBits])).toEqual([
      ['mcpServer_viewer', 1],
      ['mcpServer_editor', 3],
      ['mcpServer_owner', 15],
    ]);
    for (const role of roles)
      expect(Object.keys(role).sort()).toEqual(['accessRoleId', 'description', 'name', 'permBits']);
  });

  it('updateResourcePermissions as the owner: users by address, a group, an address without an account', async () => {
    as('owner');
    const answer: TUpdateResourcePermissionsResponse = await dataService.updateResourcePermissions(
      ResourceType.MCPSERVER,
      dbId,
      {
        updated: [
          {
            type: PrincipalType.USER,
            email: 'editor@example.com',
            accessRoleId: 'mcpServer_editor' as never,
          },
          {
            type: PrincipalType.USER,
            email: 'viewer@example.com',
            accessRoleId: 'mcpServer_viewer' as never,
          },
          { type: PrincipalType.USER, email: NO_ACCOUNT, accessRoleId: 'mcpServer_viewer' as never },
          { type: PrincipalType.GROUP, id: groupId, accessRoleId: 'mcpServer_viewer' as never },
        ],
        removed: [],
        public: false,
      },
    );
    expect(updateResourcePermissionsResponseSchema.safeParse(answer).success).toBe(true);
    expect(answer.results.public).toBe(false);

    const listed: TGetResourcePermissionsResponse = await dataService.getResourcePermissions(
      ResourceType.MCPSERVER,
      dbId,
    );
    expect(permissionsAnswer.safeParse(listed).success).toBe(true);
    expect(listed).toEqual({
      resourceType: 'mcpServer',
      resourceId: dbId,
      public: false,
      principals: [
        {
          type: 'user',
          id: ownerId,
          name: 'owner@example.com',
          email: 'owner@example.com',
          source: 'local',
          accessRoleId: 'mcpServer_owner',
        },
        {
          type: 'user',
          name: 'editor@example.com',
          email: 'editor@example.com',
          source: 'local',
          accessRoleId: 'mcpServer_editor',
        },
        {
          type: 'user',
          name: NO_ACCOUNT,
          email: NO_ACCOUNT,
          source: 'local',
          accessRoleId: 'mcpServer_viewer',
        },
        {
          type: 'user',
          name: 'viewer@example.com',
          email: 'viewer@example.com',
          source: 'local',
          accessRoleId: 'mcpServer_viewer',
        },
        { type: 'group', id: groupId, name: 'team-alpha', source: 'local', accessRoleId: 'mcpServer_viewer' },
      ],
    });
    // The hub's own face shows the same grants: one model underneath.
    const own = await hub.app.inject({
      method: 'GET',
      url: `/api/mcp/servers/${(await hub.repos.servers.findById(dbId))!.name}/permissions`,
      headers: { authorization: `Bearer ${tokens.owner}` },
    });
    expect(own.json<{ principals: { role: string }[] }>().principals.map((p) => p.role)).toEqual([
      'owner',
      'editor',
      'viewer',
      'viewer',
      'viewer',
    ]);
  });

  it('getEffectivePermissions and getAllEffectivePermissions answer each caller’s bits; a stranger gets 404', async () => {
    const expected: Record<Exclude<Caller, 'stranger'>, number> = {
      owner: 15,
      editor: 3,
      viewer: 1,
      admin: 15,
    };
    for (const [caller, bits] of Object.entries(expected) as [Caller, number][]) {
      as(caller);
      const effective = await dataService.getEffectivePermissions(ResourceType.MCPSERVER, dbId);
      expect(effectivePermissionsResponseSchema.strict().parse(effective)).toEqual({ permissionBits: bits });
      const all: TAllEffectivePermissionsResponse = await dataService.getAllEffectivePermissions(
        ResourceType.MCPSERVER,
      );
      expect(all[dbId]).toBe(bits);
    }
    as('stranger');
    expect((await refusal(dataService.getEffectivePermissions(ResourceType.MCPSERVER, dbId))).status).toBe(
      404,
    );
    expect(await dataService.getAllEffectivePermissions(ResourceType.MCPSERVER)).toEqual({});
    expect(
      (await refusal(dataService.getEffectivePermissions(ResourceType.MCPSERVER, 'no-such-id'))).status,
    ).toBe(404);
  });

  it('only SHARE reads and changes the list: editor and viewer 403, a stranger 404 like an unknown id', async () => {
    const change = { updated: [], removed: [], public: false };
    for (const caller of ['editor', 'viewer'] as const) {
      as(caller);
      expect((await refusal(dataService.getResourcePermissions(ResourceType.MCPSERVER, dbId))).status).toBe(
        403,
      );
      expect(
        (await refusal(dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, change))).status,
      ).toBe(403);
    }
    as('stranger');
    expect((await refusal(dataService.getResourcePermissions(ResourceType.MCPSERVER, dbId))).status).toBe(
      404,
    );
    expect(
      (await refusal(dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, change))).status,
    ).toBe(404);
    expect(
      (await refusal(dataService.getResourcePermissions(ResourceType.MCPSERVER, 'no-such-id'))).status,
    ).toBe(404);
  });

  it('the owner cannot be removed or demoted; public needs SHARE_PUBLIC, which an admin holds', async () => {
    as('owner');
    const removeOwner = await refusal(
      dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
        updated: [],
        removed: [{ type: PrincipalType.USER, id: ownerId }],
      }),
    );
    expect(removeOwner.status).toBe(400);
    expect(JSON.stringify(removeOwner.body)).toContain('the owner cannot be removed');
    const demote = await refusal(
      dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
        updated: [
          { type: PrincipalType.USER, email: 'owner@example.com', accessRoleId: 'mcpServer_viewer' as never },
        ],
        removed: [],
      }),
    );
    expect(demote.status).toBe(400);
    const publicByUser = await refusal(
      dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
        updated: [],
        removed: [],
        public: true,
        publicAccessRoleId: 'mcpServer_viewer',
      }),
    );
    expect(publicByUser.status).toBe(403);

    as('admin');
    await dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
      updated: [],
      removed: [],
      public: true,
      publicAccessRoleId: 'mcpServer_viewer',
    });
    const listed = await dataService.getResourcePermissions(ResourceType.MCPSERVER, dbId);
    expect(listed).toMatchObject({ public: true, publicAccessRoleId: 'mcpServer_viewer' });
    as('stranger');
    expect(await dataService.getEffectivePermissions(ResourceType.MCPSERVER, dbId)).toEqual({
      permissionBits: 1,
    });
    as('admin');
    await dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
      updated: [],
      removed: [],
      public: false,
    });
    as('stranger');
    expect((await refusal(dataService.getEffectivePermissions(ResourceType.MCPSERVER, dbId))).status).toBe(
      404,
    );
  });

  it('removing by address drops the grant whether or not the address has an account', async () => {
    as('owner');
    const answer = await dataService.updateResourcePermissions(ResourceType.MCPSERVER, dbId, {
      updated: [],
      removed: [
        { type: PrincipalType.USER, email: NO_ACCOUNT },
        { type: PrincipalType.USER, email: 'VIEWER@example.com' },
      ],
    });
    expect(answer.results.principals.map((p) => p.email ?? p.name)).toEqual([
      'owner@example.com',
      'editor@example.com',
      'team-alpha',
    ]);
    // The viewer still reaches the server through the group.
    as('viewer');
    expect(await dataService.getEffectivePermissions(ResourceType.MCPSERVER, dbId)).toEqual({
      permissionBits: 1,
    });
  });

  it('other resource types answer 404 saying the hub shares MCP servers only', async () => {
    as('owner');
    for (const call of [
      dataService.getAccessRoles(ResourceType.AGENT),
      dataService.getResourcePermissions(ResourceType.PROMPTGROUP, dbId),
      dataService.getEffectivePermissions(ResourceType.AGENT, dbId),
      dataService.getAllEffectivePermissions(ResourceType.SKILL),
      dataService.updateResourcePermissions(ResourceType.AGENT, dbId, { updated: [], removed: [] }),
    ]) {
      const { status, body } = await refusal(call);
      expect(status).toBe(404);
      expect(JSON.stringify(body)).toContain("this hub shares MCP servers only ('mcpServer')");
    }
  });

  it('searchPrincipals is no enumeration oracle: only what the caller already shares, and a whole address as typed', async () => {
    as('owner');
    const short = await refusal(dataService.searchPrincipals({ q: 'e' }));
    expect(short.status).toBe(400);

    const found: PrincipalSearchResponse = await dataService.searchPrincipals({ q: 'example' });
    expect(found.results.map((r) => r.email)).toEqual(['editor@example.com', 'owner@example.com']);
    expect(found).toMatchObject({ query: 'example', limit: 10, count: 2, sources: { local: 2, entra: 0 } });
    for (const result of found.results) expect(result).not.toHaveProperty('id');
    const groups = await dataService.searchPrincipals({ q: 'team', types: [PrincipalType.GROUP] });
    expect(groups.results).toEqual([{ type: 'group', id: groupId, name: 'team-alpha', source: 'local' }]);

    // A stranger finds nobody by part of a name, and a whole address reads the same with or without an account.
    as('stranger');
    expect((await dataService.searchPrincipals({ q: 'editor' })).results).toEqual([]);
    expect((await dataService.searchPrincipals({ q: 'team' })).results).toEqual([]);
    const withAccount = await dataService.searchPrincipals({ q: 'editor@example.com' });
    const withoutAccount = await dataService.searchPrincipals({ q: NO_ACCOUNT });
    expect(withAccount.results).toEqual([
      { type: 'user', name: 'editor@example.com', email: 'editor@example.com', source: 'local' },
    ]);
    expect(withoutAccount.results).toEqual([
      { type: 'user', name: NO_ACCOUNT, email: NO_ACCOUNT, source: 'local' },
    ]);

    // The viewer sees the group it belongs to, by its own membership.
    as('viewer');
    expect((await dataService.searchPrincipals({ q: 'alpha' })).results.map((r) => r.name)).toEqual([
      'team-alpha',
    ]);
  });
});
