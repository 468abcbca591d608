import { isAxiosError } from 'axios';
import {
  dataService,
  MCPOptionsSchema,
  setTokenHeader,
  StdioOptionsSchema,
  StreamableHTTPOptionsSchema,
  type MCPServerDBObjectResponse,
  type MCPServersListResponse,
} from 'librechat-data-provider';
import { pointLibreChatClientAt, resetLibreChatClient } from './support/librechat-client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { probeStdioCommand } from './peers/probe-stdio.js';
import { apiClient, startServersHub, type ServersTestHub } from './support/servers-hub.js';

/** A header value the owner gives; no answer may carry it. */
const HEADER_SECRET = 'owner-header-secret-4b1d';
/** An argument of the administrator's stdio server; no answer may carry it (nor its command). */
const ARG_SECRET = '--token=yaml-arg-secret-77c2';

/** A value a user saves for a declared variable; no server entry may carry it. */
const VAR_VALUE = 'viewer-own-value-91e0';

type Caller = 'owner' | 'editor' | 'viewer' | 'admin';

/** The HTTP status a package call was refused with (the package rejects with axios's error). */
async function statusOf(call: Promise<unknown>): Promise<number | undefined> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (isAxiosError(error)) return error.response?.status;
    throw error;
  }
}

/**
 * Server entries driven through LibreChat's own client data layer, `librechat-data-provider`, in
 * Node as a hub's users run it: its `dataService` calls with the base URL and bearer token set the
 * way the package sets them (axios defaults, `setTokenHeader`). Each answer is held in a variable of
 * the package's own type and checked against its zod schema.
 */
describe('librechat-data-provider: MCP server entries', () => {
  let hub: ServersTestHub;
  let probe: ProbeServer;
  const tokens: Record<Caller, string> = { owner: '', editor: '', viewer: '', admin: '' };
  let serverName = '';
  let dbId = '';

  /** Every later package call is made as this caller. */
  const as = (caller: Caller): void => setTokenHeader(tokens[caller]);

  beforeAll(async () => {
    probe = await startProbeServer();
    const stdio = probeStdioCommand();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']
roles:
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false } }
mcpServers:
  with-vars:
    type: streamable-http
    url: ${probe.url}
    startup: false
    title: With variables
    headers: { X-Api-Key: '{{PROBE_KEY}}' }
    customUserVars:
      PROBE_KEY: { title: Probe key, description: Your own key for the probe }
      PROBE_USER: { title: Probe user, description: Your user name, sensitive: false }
  local-tool:
    type: stdio
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify([...stdio.args, ARG_SECRET])}
    startup: false
    title: Local tool
`,
    });
    await pointLibreChatClientAt(hub.app);
    tokens.owner = await hub.userToken('owner@example.com');
    tokens.editor = await hub.userToken('editor@example.com');
    tokens.viewer = await hub.userToken('viewer@example.com');
    tokens.admin = await hub.userToken('admin@example.com', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    resetLibreChatClient();
    await hub?.dispose();
    await probe?.stop();
  });

  it('createMCPServer as the owner: the package’s shape with dbId (the servers table id), secrets masked', async () => {
    as('owner');
    const created: MCPServerDBObjectResponse = await dataService.createMCPServer({
      config: {
        type: 'streamable-http',
        url: probe.url,
        title: 'Shared Probe',
        headers: { 'X-Api-Key': HEADER_SECRET },
      },
    });
    serverName = created.serverName;
    const record = await hub.repos.servers.findByName(serverName);
    expect(record).not.toBeNull();
    dbId = record!.id;
    expect(created.dbId).toBe(dbId);
    expect(created).toMatchObject({ type: 'streamable-http', url: probe.url, title: 'Shared Probe' });
    const headers: Record<string, string> | undefined = 'headers' in created ? created.headers : undefined;
    expect(headers).toEqual({ 'X-Api-Key': '***' });
    expect(MCPOptionsSchema.safeParse(created).success).toBe(true);
    expect(JSON.stringify(created)).not.toContain(HEADER_SECRET);

    // Shared through the hub's own route; the package's sharing calls use `dbId` (other suites).
    const shared = await apiClient(hub.app).put(`/api/mcp/servers/${serverName}/permissions`, tokens.owner, {
      principals: [
        { type: 'user', email: 'editor@example.com', role: 'editor' },
        { type: 'user', email: 'viewer@example.com', role: 'viewer' },
      ],
    });
    expect(shared.statusCode, shared.body).toBe(200);
  });

  it('getMCPServer: the owner, an editor and an admin see the URL and dbId; a viewer sees dbId but no URL, no headers', async () => {
    for (const caller of ['owner', 'editor', 'admin'] as const) {
      as(caller);
      const entry: MCPServerDBObjectResponse = await dataService.getMCPServer(serverName);
      expect(entry, caller).toMatchObject({
        serverName,
        dbId,
        url: probe.url,
        headers: { 'X-Api-Key': '***' },
      });
      expect(MCPOptionsSchema.safeParse(entry).success, caller).toBe(true);
      expect(JSON.stringify(entry)).not.toContain(HEADER_SECRET);
    }
    as('viewer');
    const seen: MCPServerDBObjectResponse = await dataService.getMCPServer(serverName);
    expect(seen.dbId).toBe(dbId);
    expect(seen).toMatchObject({ serverName, type: 'streamable-http', title: 'Shared Probe' });
    // LibreChat withholds the URL from whoever may not edit a server; so does the hub.
    expect(seen).not.toHaveProperty('url');
    expect(seen).not.toHaveProperty('headers');
    expect(StreamableHTTPOptionsSchema.omit({ url: true }).safeParse(seen).success).toBe(true);
  });

  it('a value a user saved for a declared variable is in no answer, theirs or anyone’s', async () => {
    const saved = await apiClient(hub.app).put('/api/mcp/with-vars/auth-values', tokens.viewer, {
      values: { PROBE_USER: VAR_VALUE },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    for (const caller of ['viewer', 'admin'] as const) {
      as(caller);
      const list: MCPServersListResponse = await dataService.getMCPServers();
      const one: MCPServerDBObjectResponse = await dataService.getMCPServer('with-vars');
      expect(JSON.stringify([list, one]), caller).not.toContain(VAR_VALUE);
      expect(one.customUserVars?.PROBE_USER?.title, caller).toBe('Probe user');
    }
  });

  it('getMCPServers: declared variables reach every caller (titles and descriptions only); YAML servers have no dbId; no command line for anyone', async () => {
    for (const caller of ['owner', 'editor', 'viewer', 'admin'] as const) {
      as(caller);
      const list: MCPServersListResponse = await dataService.getMCPServers();
      const withVars: MCPServerDBObjectResponse | undefined = list['with-vars'];
      expect(withVars?.customUserVars, caller).toEqual({
        PROBE_KEY: { title: 'Probe key', description: 'Your own key for the probe' },
        PROBE_USER: { title: 'Probe user', description: 'Your user name', sensitive: false },
      });
      expect(withVars, caller).not.toHaveProperty('dbId');
      const local: MCPServerDBObjectResponse | undefined = list['local-tool'];
      expect(local, caller).toMatchObject({ type: 'stdio', title: 'Local tool' });
      expect(local, caller).not.toHaveProperty('command');
      expect(local, caller).not.toHaveProperty('args');
      expect(local, caller).not.toHaveProperty('dbId');
      expect(StdioOptionsSchema.omit({ command: true, args: true }).safeParse(local).success, caller).toBe(
        true,
      );
      expect(list[serverName]?.dbId, caller).toBe(dbId);
      const text = JSON.stringify(list);
      for (const secret of [HEADER_SECRET, ARG_SECRET, 'probe-stdio-server']) {
        expect(text, caller).not.toContain(secret);
      }
      if (caller === 'viewer' || caller === 'owner' || caller === 'editor') {
        // A plain user is not shown where an administrator's server is.
        expect(withVars, caller).not.toHaveProperty('url');
        expect(withVars, caller).not.toHaveProperty('headers');
      } else {
        expect(withVars).toMatchObject({ url: probe.url, headers: { 'X-Api-Key': '***' } });
        expect(MCPOptionsSchema.safeParse(withVars).success).toBe(true);
      }
    }
  });

  it('updateMCPServer: an editor’s answer keeps dbId and the masked secret; a viewer is refused', async () => {
    as('editor');
    const updated: MCPServerDBObjectResponse = await dataService.updateMCPServer(serverName, {
      config: {
        type: 'streamable-http',
        url: probe.url,
        title: 'Shared Probe',
        description: 'described by the editor',
        headers: { 'X-Api-Key': '***' },
      },
    });
    expect(updated).toMatchObject({
      serverName,
      dbId,
      description: 'described by the editor',
      url: probe.url,
    });
    expect(MCPOptionsSchema.safeParse(updated).success).toBe(true);
    expect(JSON.stringify(updated)).not.toContain(HEADER_SECRET);

    as('viewer');
    const refused = dataService.updateMCPServer(serverName, {
      config: { type: 'streamable-http', url: probe.url, title: 'Taken over' },
    });
    expect(await statusOf(refused)).toBe(403);
  });

  it('deleteMCPServer: answers the package’s {success: true}; the editor and the viewer are refused, the owner deletes', async () => {
    for (const caller of ['viewer', 'editor'] as const) {
      as(caller);
      expect(await statusOf(dataService.deleteMCPServer(serverName)), caller).toBe(403);
    }
    as('owner');
    const deleted: { success: boolean } = await dataService.deleteMCPServer(serverName);
    expect(deleted.success).toBe(true);
    expect(await statusOf(dataService.getMCPServer(serverName))).toBe(404);
  });

  it('an admin deletes a user’s server through the package too', async () => {
    as('owner');
    const created: MCPServerDBObjectResponse = await dataService.createMCPServer({
      config: { type: 'streamable-http', url: probe.url, title: 'Short lived' },
    });
    expect(created.dbId).toBe((await hub.repos.servers.findByName(created.serverName))!.id);
    as('admin');
    const deleted: { success: boolean } = await dataService.deleteMCPServer(created.serverName);
    expect(deleted).toMatchObject({ success: true });
  });
});
