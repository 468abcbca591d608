import axios, { isAxiosError } from 'axios';
import {
  dataService,
  roleSchema,
  setTokenHeader,
  type MCPAuthValuesResponse,
  type TRole,
  type TStartupConfig,
} from 'librechat-data-provider';
import { pointLibreChatClientAt, resetLibreChatClient } from './support/librechat-client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startServersHub, type ServersTestHub } from './support/servers-hub.js';

/** The package's answer type for `listRoles` (its module of query types is not exported by name). */
type ListRolesResponse = Awaited<ReturnType<typeof dataService.listRoles>>;

/** A header value the owner gives their own server; no answer may carry it. */
const HEADER_SECRET = 'owner-config-secret-6a2e';
/** A value a user saves through the plugin route; no answer may carry it. */
const VAR_VALUE = 'plugin-saved-value-3f9d';

type Caller = 'owner' | 'other' | 'admin';

/** The refusal a package call ended in: HTTP status and the hub's error code. */
async function refusal(
  call: Promise<unknown>,
): Promise<{ status: number | undefined; code: unknown; body: unknown }> {
  try {
    await call;
  } catch (error) {
    if (isAxiosError(error)) {
      const body: unknown = error.response?.data;
      const code = body && typeof body === 'object' && 'code' in body ? body.code : undefined;
      return { status: error.response?.status, code, body };
    }
    throw error;
  }
  throw new Error('the call succeeded');
}

/**
 * LibreChat's startup config, role routes and plugin-auth route, driven through its own client data
 * layer (`librechat-data-provider`) against a hub on a real port, as a user, another user and an admin.
 */
describe('librechat-data-provider: startup config, roles and user plugins', () => {
  let hub: ServersTestHub;
  let probe: ProbeServer;
  const tokens: Record<Caller, string> = { owner: '', other: '', admin: '' };
  let ownServer = '';

  const as = (caller: Caller | undefined): void =>
    setTokenHeader(caller === undefined ? undefined : tokens[caller]);

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
interface:
  mcpServers: { use: true, create: true, share: true, public: false }
roles:
  ADMIN: { MCP_SERVERS: { SHARE_PUBLIC: false } }
mcpServers:
  with-vars:
    type: streamable-http
    url: ${probe.url}
    startup: false
    chatMenu: false
    iconPath: /icons/probe.svg
    headers: { X-Api-Key: '{{PROBE_KEY}}' }
    customUserVars:
      PROBE_KEY: { title: Probe key, description: Your own key for the probe }
  admins-only:
    type: streamable-http
    url: ${probe.url}
    startup: false
    access: { roles: [ADMIN] }
`,
    });
    await pointLibreChatClientAt(hub.app);
    tokens.owner = await hub.userToken('owner@example.com');
    tokens.other = await hub.userToken('other@example.com');
    tokens.admin = await hub.userToken('admin@example.com', 'ADMIN');
    as('owner');
    const created = await dataService.createMCPServer({
      config: {
        type: 'streamable-http',
        url: probe.url,
        title: 'Owner Probe',
        headers: { 'X-Api-Key': HEADER_SECRET },
      },
    });
    ownServer = created.serverName;
  }, 60_000);

  afterAll(async () => {
    resetLibreChatClient();
    await hub?.dispose();
    await probe?.stop();
  });

  describe('getStartupConfig', () => {
    it('anonymous: the neutral startup config and no MCP part at all, so no server name reaches it (V-09)', async () => {
      as(undefined);
      const config: TStartupConfig = await dataService.getStartupConfig();
      expect(config).toMatchObject({
        appTitle: 'Switchboard',
        emailLoginEnabled: true,
        registrationEnabled: false,
      });
      expect(config.mcpServers).toBeUndefined();
      expect(config.interface).toBeUndefined();
      const text = JSON.stringify(config);
      for (const name of [ownServer, 'with-vars', 'admins-only']) expect(text).not.toContain(name);
    });

    it('a user: their role’s interface.mcpServers bits and the servers they may see, with declared variables; no URL, header or value', async () => {
      as('owner');
      const config: TStartupConfig = await dataService.getStartupConfig();
      expect(config.interface?.mcpServers).toEqual({
        use: true,
        create: true,
        share: true,
        public: false,
        configureObo: false,
      });
      expect(Object.keys(config.mcpServers ?? {}).sort()).toEqual([ownServer, 'with-vars'].sort());
      expect(config.mcpServers?.['with-vars']).toEqual({
        customUserVars: { PROBE_KEY: { title: 'Probe key', description: 'Your own key for the probe' } },
        isOAuth: false,
        chatMenu: false,
        startup: false,
        iconPath: '/icons/probe.svg',
      });
      expect(config.mcpServers?.[ownServer]).toEqual({ customUserVars: {}, isOAuth: false, startup: false });
      const text = JSON.stringify(config);
      expect(text).not.toContain(HEADER_SECRET);
      expect(text).not.toContain(probe.url);
      expect(text).not.toContain(`:${new URL(probe.url).port}`);
      // The one address in it is the hub's own public URL.
      expect(config.serverDomain).toBe(hub.config.env.publicUrl);
    });

    it('another user does not see the owner’s unshared server; an admin sees the admin-only server (not others’ unshared ones, as in the server list) and the ADMIN bits', async () => {
      as('other');
      const other: TStartupConfig = await dataService.getStartupConfig();
      expect(Object.keys(other.mcpServers ?? {})).toEqual(['with-vars']);
      as('admin');
      const admin: TStartupConfig = await dataService.getStartupConfig();
      expect(Object.keys(admin.mcpServers ?? {}).sort()).toEqual(['admins-only', 'with-vars']);
      expect(admin.interface?.mcpServers).toEqual({
        use: true,
        create: true,
        share: true,
        public: false,
        configureObo: false,
      });
      expect(JSON.stringify(admin)).not.toContain(HEADER_SECRET);
    });

    it('a token that is sent but invalid is a 401, not an anonymous answer', async () => {
      setTokenHeader('not-a-valid-token');
      expect(await refusal(dataService.getStartupConfig())).toMatchObject({
        status: 401,
        code: 'HUB_ERR_INVALID_TOKEN',
      });
    });
  });

  describe('roles', () => {
    it('getRole: a user reads their own role in the package’s TRole shape, MCP_SERVERS as configured, every other group off', async () => {
      as('owner');
      const role: TRole = await dataService.getRole('USER');
      expect(roleSchema.safeParse(role).success).toBe(true);
      expect(role.name).toBe('USER');
      expect(role.permissions.MCP_SERVERS).toEqual({
        USE: true,
        CREATE: true,
        SHARE: true,
        SHARE_PUBLIC: false,
        CONFIGURE_OBO: false,
      });
      expect(role.permissions.PROMPTS).toEqual({
        USE: false,
        CREATE: false,
        SHARE: false,
        SHARE_PUBLIC: false,
      });
      expect(role.permissions.AGENTS.USE).toBe(false);
    });

    it('getRole: a user may not read another role (403); an admin reads any (ADMIN as configured); an unknown role is 404', async () => {
      as('owner');
      expect(await refusal(dataService.getRole('ADMIN'))).toMatchObject({
        status: 403,
        code: 'HUB_ERR_FORBIDDEN',
      });
      as('admin');
      const admin: TRole = await dataService.getRole('ADMIN');
      expect(roleSchema.safeParse(admin).success).toBe(true);
      expect(admin.permissions.MCP_SERVERS).toEqual({
        USE: true,
        CREATE: true,
        SHARE: true,
        SHARE_PUBLIC: false,
        CONFIGURE_OBO: false,
      });
      const user: TRole = await dataService.getRole('USER');
      expect(user.permissions.MCP_SERVERS?.SHARE).toBe(true);
      expect(await refusal(dataService.getRole('EDITOR'))).toMatchObject({
        status: 404,
        code: 'HUB_ERR_NOT_FOUND',
      });
    });

    it('listRoles: admins get both roles; a user is refused with 403', async () => {
      as('admin');
      const list: ListRolesResponse = await dataService.listRoles();
      expect(list.roles.map((r) => r.name)).toEqual(['ADMIN', 'USER']);
      expect(list.total).toBe(2);
      as('owner');
      expect(await refusal(dataService.listRoles())).toMatchObject({
        status: 403,
        code: 'HUB_ERR_FORBIDDEN',
      });
    });

    it('updateMCPServersPermissions: deliberately refused, 409 HUB_ERR_ROLES_READ_ONLY for an admin (roles are set in switchboard.yaml); 403 for a user; 400 for an unknown bit', async () => {
      as('admin');
      const refused = await refusal(
        dataService.updateMCPServersPermissions({ roleName: 'USER', updates: { SHARE_PUBLIC: true } }),
      );
      expect(refused).toMatchObject({ status: 409, code: 'HUB_ERR_ROLES_READ_ONLY' });
      expect(JSON.stringify(refused.body)).toContain('switchboard.yaml');
      // Nothing changed: the USER role still reads as configured.
      const user: TRole = await dataService.getRole('USER');
      expect(user.permissions.MCP_SERVERS?.SHARE_PUBLIC).toBe(false);
      expect(
        await refusal(dataService.updateMCPServersPermissions({ roleName: 'NOPE', updates: { USE: true } })),
      ).toMatchObject({ status: 404 });
      const unknownBit = await axios
        .put('/api/roles/USER/mcp-servers', { DELETE: true })
        .catch((e: unknown) => e);
      expect(isAxiosError(unknownBit) && unknownBit.response?.status).toBe(400);
      as('owner');
      expect(
        await refusal(dataService.updateMCPServersPermissions({ roleName: 'USER', updates: { USE: true } })),
      ).toMatchObject({ status: 403, code: 'HUB_ERR_FORBIDDEN' });
    });
  });

  describe('updateUserPlugins (mcp_<server>)', () => {
    it('install saves the caller’s variables in the auth-values store; uninstall removes them', async () => {
      as('other');
      await dataService.updateUserPlugins({
        pluginKey: 'mcp_with-vars',
        action: 'install',
        auth: { PROBE_KEY: VAR_VALUE },
      });
      const set: MCPAuthValuesResponse = await dataService.getMCPAuthValues('with-vars');
      expect(set.authValueFlags).toEqual({ PROBE_KEY: true });
      // The same store the auth-values route writes: the hub sends the value upstream as the header.
      const called = await axios.post<{ content: Array<{ text: string }> }>(
        '/api/mcp/with-vars/tools/whoami/call',
        {
          arguments: {},
        },
      );
      expect(JSON.parse(called.data.content[0]!.text)).toMatchObject({ 'x-api-key': VAR_VALUE });
      const other = await hub.repos.users.findByEmail('other@example.com');
      const row = { userId: other!.id, serverName: 'with-vars', kind: 'user_vars' as const };
      expect(await hub.repos.credentials.get(row)).not.toBeNull();
      // Another user's flags are untouched.
      as('owner');
      expect((await dataService.getMCPAuthValues('with-vars')).authValueFlags).toEqual({ PROBE_KEY: false });

      as('other');
      await dataService.updateUserPlugins({ pluginKey: 'mcp_with-vars', action: 'uninstall' });
      expect((await dataService.getMCPAuthValues('with-vars')).authValueFlags).toEqual({ PROBE_KEY: false });
      expect(await hub.repos.credentials.get(row)).toBeNull();
    });

    it('a null value removes that variable, as LibreChat sends a cleared field', async () => {
      as('owner');
      await dataService.updateUserPlugins({
        pluginKey: 'mcp_with-vars',
        action: 'install',
        auth: { PROBE_KEY: 'x' },
      });
      expect((await dataService.getMCPAuthValues('with-vars')).authValueFlags).toEqual({ PROBE_KEY: true });
      await dataService.updateUserPlugins({
        pluginKey: 'mcp_with-vars',
        action: 'install',
        auth: { PROBE_KEY: null },
      });
      expect((await dataService.getMCPAuthValues('with-vars')).authValueFlags).toEqual({ PROBE_KEY: false });
    });

    it('validated exactly as PUT auth-values: an unknown variable or a line break is a 400 and nothing is stored', async () => {
      as('owner');
      const unknown = await refusal(
        dataService.updateUserPlugins({
          pluginKey: 'mcp_with-vars',
          action: 'install',
          auth: { OTHER: 'v' },
        }),
      );
      expect(unknown).toMatchObject({ status: 400, code: 'HUB_ERR_VALIDATION' });
      const viaRoute = await refusal(axios.put('/api/mcp/with-vars/auth-values', { values: { OTHER: 'v' } }));
      expect(JSON.stringify(unknown.body)).toContain(`Unknown variable for 'with-vars': \\"OTHER\\"`);
      expect(viaRoute).toMatchObject({ status: 400, code: 'HUB_ERR_VALIDATION' });
      const newline = await refusal(
        dataService.updateUserPlugins({
          pluginKey: 'mcp_with-vars',
          action: 'install',
          auth: { PROBE_KEY: 'a\r\nX-Injected: 1' },
        }),
      );
      expect(newline).toMatchObject({ status: 400 });
      expect((await dataService.getMCPAuthValues('with-vars')).authValueFlags).toEqual({ PROBE_KEY: false });
    });

    it('other plugin keys are a 400 naming the mcp_<server> form; an unknown action is a 400; a server hidden from the caller is the same 404 as a missing one', async () => {
      as('owner');
      const plugin = await refusal(
        dataService.updateUserPlugins({ pluginKey: 'dalle', action: 'install', auth: {} }),
      );
      expect(plugin).toMatchObject({ status: 400, code: 'HUB_ERR_VALIDATION' });
      expect(JSON.stringify(plugin.body)).toContain('mcp_<server name>');
      expect(
        await refusal(dataService.updateUserPlugins({ pluginKey: 'mcp_with-vars', action: 'enable' })),
      ).toMatchObject({ status: 400 });
      expect(
        await refusal(
          dataService.updateUserPlugins({ pluginKey: 'mcp_missing-one', action: 'install', auth: {} }),
        ),
      ).toMatchObject({ status: 404, code: 'HUB_ERR_SERVER_NOT_FOUND' });
      as('other');
      expect(
        await refusal(dataService.updateUserPlugins({ pluginKey: `mcp_${ownServer}`, action: 'uninstall' })),
      ).toMatchObject({ status: 404, code: 'HUB_ERR_SERVER_NOT_FOUND' });
    });
  });
});
