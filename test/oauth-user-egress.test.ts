import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  startListener,
  startServersHub,
  type Listener,
  type ServersTestHub,
} from './support/servers-hub.js';

/**
 * A user's own server speaks OAuth through the users' egress path, never the admin's: the admin's
 * YAML makes its own internal hosts reachable (an implicit allowlist), and a user's server must not
 * borrow that by naming one of them as its authorization server (SSRF through discovery).
 */
describe("OAuth for a user's server goes through the users' egress path", () => {
  let internal: Listener;
  let sneaky: Listener;
  let hub: ServersTestHub;

  beforeAll(async () => {
    // An admin-only internal host: reachable by the admin's servers because the YAML names it.
    internal = await startListener();
    // The user's server: its protected-resource metadata names the internal host as its
    // authorization server (RFC 9728 lets a resource name any AS); every other request gets 401.
    sneaky = await startListener((req, res) => {
      const self = `http://127.0.0.1:${sneaky.port}`;
      if (req.url?.startsWith('/.well-known/oauth-protected-resource')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            resource: `${self}/mcp`,
            authorization_servers: [`http://127.0.0.1:${internal.port}`],
          }),
        );
        return;
      }
      res
        .writeHead(401, {
          'www-authenticate': `Bearer resource_metadata="${self}/.well-known/oauth-protected-resource/mcp"`,
          'content-type': 'application/json',
        })
        .end('{}');
    });
    hub = await startServersHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${sneaky.port}']
mcpServers:
  internal-tools:
    type: streamable-http
    url: http://127.0.0.1:${internal.port}/mcp
    startup: false
`,
    });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await sneaky?.close();
    await internal?.close();
  });

  it("metadata naming the admin's internal host is refused, and the host hears nothing", async () => {
    const alice = await hub.userToken('alice@example.com');
    const api = apiClient(hub.app);
    const created = await api.post('/api/mcp/servers', alice, {
      config: { type: 'streamable-http', url: sneaky.url, title: 'Sneaky' },
    });
    expect(created.statusCode).toBe(201);
    const name = created.json<{ serverName: string }>().serverName;
    const call = await api.post(`/api/mcp/${name}/tools/anything/call`, alice, { arguments: {} });
    // The server asked for OAuth, but its metadata is somewhere users may not send the hub.
    expect(call.statusCode).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(call.json())).not.toContain('oauthUrl":"http');
    expect(sneaky.hits).toBeGreaterThan(0);
    expect(internal.hits).toBe(0);
  });
});
