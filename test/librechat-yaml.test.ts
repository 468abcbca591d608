import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfigFile } from '../src/config/index.js';
import { librechatKeys } from './support/librechat-keys.js';
import { apiClient, startServersHub, validationErrors, type ServersTestHub } from './support/servers-hub.js';

/**
 * A `librechat.yaml` MCP part using every key LibreChat documents for it, copied into the hub unchanged.
 * `startup: false` everywhere: the test is about the file, not about reaching these hosts.
 */
const LIBRECHAT_YAML = `
version: 1.2.1
interface:
  mcpServers:
    use: true
    create: true
    share: false
    public: false
    placeholder: MCP Servers
    configureObo: false
    toolsRefreshInterval: 30000
    statusRefreshInterval: 0
    trustCheckbox:
      label: { en: I trust this server }
      subLabel: Only add servers you trust
mcpSettings:
  allowedDomains: [mcp.example.com, auth.example.com]
  allowedAddresses: ['10.0.0.5:8080']
  catalogRecovery:
    discoveryBackoffMs: [1000, 5000]
    discoveryTimeoutMs: 30000
    discoverySettleGraceMs: 5000
    reauthRetryMs: 60000
    maxStateEntries: 1000
    maxDetachedDiscoveries: 3
    generationReadTimeoutMs: 2000
    authorizationFenceRetryMs: [500, 1000]
    authorizationFenceTimeoutMs: 10000
    authorizationFenceRetryIntervalMs: 250
    authorizationFenceRetryBatchSize: 20
mcpServers:
  files:
    type: stdio
    command: node
    args: [server.js]
    env: { LOG_LEVEL: info }
    stderr: inherit
    cwd: /srv/files
    startup: false
  github:
    type: streamable-http
    url: https://mcp.example.com/mcp
    title: GitHub
    description: Issues and pull requests
    iconPath: https://mcp.example.com/icon.svg
    startup: false
    timeout: 30000
    initTimeout: 20000
    sseReadTimeout: 300000
    chatMenu: true
    serverInstructions: true
    requiresOAuth: true
    oauthRefreshWaitTimeout: 15000
    oauthRefreshCoordination: false
    oauthPersistenceWaitTimeout: 15000
    headers: { X-Project: "{{PROJECT}}" }
    requestHeaders: { X-Conversation: "{{LIBRECHAT_BODY_CONVERSATIONID}}" }
    proxy: http://proxy.example.com:3128
    obo: { scopes: "api://mcp/Tools.ReadWrite" }
    oauth:
      authorization_url: https://auth.example.com/authorize
      token_url: https://auth.example.com/token
      client_id: librechat
      client_secret: not-a-real-secret
      scope: repo read:user
      redirect_uri: https://chat.example.com/api/mcp/github/oauth/callback
      token_exchange_method: basic_auth_header
      grant_types_supported: [authorization_code, refresh_token]
      token_endpoint_auth_methods_supported: [client_secret_basic]
      response_types_supported: [code]
      code_challenge_methods_supported: [S256]
      skip_code_challenge_check: false
      audience: https://api.example.com
      forward_audience_on_refresh: true
      send_resource_parameter: false
      revocation_endpoint: https://auth.example.com/revoke
      revocation_endpoint_auth_methods_supported: [client_secret_basic]
    oauth_headers: { X-Tenant: example }
    customUserVars:
      PROJECT: { title: Project key, description: Your project, sensitive: false }
  legacy:
    type: sse
    url: https://mcp.example.com/sse
    startup: false
    apiKey: { source: user, authorization_type: custom, custom_header: X-Api-Key }
    customUserVars:
      API_KEY: { title: API key, description: Your key, sensitive: true }
  search:
    url: https://mcp.example.com/search
    startup: false
    apiKey: { key: not-a-real-key, source: admin, authorization_type: bearer }
  live:
    type: websocket
    url: wss://mcp.example.com/ws
    startup: false
`;

/** Every key path the YAML above sets, with `*` for record keys and list items, as the walk spells them. */
function keysIn(
  value: unknown,
  parent: readonly string[],
  out: Set<string>,
  records: ReadonlySet<string>,
): void {
  if (Array.isArray(value)) {
    for (const item of value) keysIn(item, [...parent, '*'], out, records);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const isRecord = records.has(parent.join('.'));
  for (const [key, child] of Object.entries(value)) {
    const segment = isRecord ? '*' : key;
    if (!isRecord) out.add([...parent, key].join('.'));
    keysIn(child, [...parent, segment], out, records);
  }
}

/** The warnings the file above must produce at start, one per key, in the order they are logged. */
const EXPECTED_WARNINGS: ReadonlyArray<{ key: string; paths: string[] }> = [
  { key: 'mcpServers.*.oauthRefreshCoordination', paths: ['mcpServers.github.oauthRefreshCoordination'] },
  {
    key: 'mcpServers.*.oauthPersistenceWaitTimeout',
    paths: ['mcpServers.github.oauthPersistenceWaitTimeout'],
  },
  { key: 'mcpServers.*.obo', paths: ['mcpServers.github.obo'] },
  { key: 'mcpSettings.catalogRecovery', paths: ['mcpSettings.catalogRecovery'] },
  { key: 'interface.mcpServers.toolsRefreshInterval', paths: ['interface.mcpServers.toolsRefreshInterval'] },
  {
    key: 'interface.mcpServers.statusRefreshInterval',
    paths: ['interface.mcpServers.statusRefreshInterval'],
  },
];

describe("a librechat.yaml MCP section using every key LibreChat's schemas accept", () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'switchboard-librechat-yaml-'));
    file = path.join(dir, 'librechat.yaml');
    await writeFile(file, LIBRECHAT_YAML);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses every key the pinned package accepts, so the checks below cover them all', () => {
    const used = new Set<string>();
    const records = new Set(
      ['mcpServers', 'customUserVars', 'env', 'headers', 'requestHeaders', 'oauth_headers'].map((key) =>
        key === 'mcpServers' ? key : `mcpServers.*.${key}`,
      ),
    );
    keysIn(parse(LIBRECHAT_YAML), [], used, records);
    const wanted = [...librechatKeys().keys()].filter(
      // The walk spells record values and list items `*`; their own keys are names the file chooses.
      (key) => !key.endsWith('.*'),
    );
    expect(wanted.filter((key) => !used.has(key))).toEqual([]);
  });

  it('passes checkConfigFile with one warning per key the hub does not act on', async () => {
    const check = await checkConfigFile(file, {});
    expect(check.issues).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.warnings.map(({ key, paths }) => ({ key, paths }))).toEqual(EXPECTED_WARNINGS);
    for (const warning of check.warnings)
      expect(warning.reason).toMatch(/^(not implemented yet|has no counterpart)/);
  });

  it('passes the real `switchboard config check`', async () => {
    const run = promisify(execFile);
    const cli = path.resolve('node_modules/.bin/tsx');
    const { stdout, stderr } = await run(cli, ['src/main.ts', 'config', 'check', file], {
      env: { PATH: process.env.PATH ?? '' },
      timeout: 60_000,
    });
    expect(stdout).toContain(`${file}: ok`);
    // Each unused key is said once, naming it and where it is set.
    const warned = stderr.split('\n').filter((line) => line.startsWith('warning: '));
    expect(warned).toHaveLength(EXPECTED_WARNINGS.length);
    for (const { key, paths } of EXPECTED_WARNINGS)
      expect(warned).toContain(
        warned.find((line) =>
          line.startsWith(`warning: '${key}' (${paths.join(', ')}) is accepted but not used: `),
        ),
      );
  });

  describe('a hub started from it', () => {
    let hub: ServersTestHub;

    beforeAll(async () => {
      hub = await startServersHub({ yaml: LIBRECHAT_YAML });
    });
    afterAll(async () => {
      await hub.dispose();
    });

    it('logs each unused key once, at start, naming it and where it is set', () => {
      const warned = hub.logLines
        .map((line) => JSON.parse(line) as { level: number; key?: unknown; paths?: unknown; msg?: unknown })
        .filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith('config key '));
      expect(warned.map(({ key, paths }) => ({ key, paths }))).toEqual(EXPECTED_WARNINGS);
      for (const entry of warned) {
        expect(entry.level).toBe(40);
        expect(entry.msg).toContain(`'${String(entry.key)}' is accepted but not used: `);
      }
      // A warning says where a key is set, never its value (a proxy URL may carry credentials).
      expect(hub.logLines.filter((line) => line.includes('proxy.example.com'))).toEqual([]);
    });

    it("refuses every new key on a user's own server with a 400 naming it", async () => {
      const api = apiClient(hub.app);
      const token = await hub.userToken('carol@example.com');
      const base = { type: 'streamable-http', title: 'Mine', url: 'https://mcp.example.com/mcp' };
      const refused: Array<[Record<string, unknown>, string]> = [
        [{ oauthRefreshWaitTimeout: 1000 }, 'config.oauthRefreshWaitTimeout'],
        [{ oauthRefreshCoordination: true }, 'config.oauthRefreshCoordination'],
        [{ oauthPersistenceWaitTimeout: 1000 }, 'config.oauthPersistenceWaitTimeout'],
        [{ requestHeaders: { 'X-A': 'b' } }, 'config.requestHeaders'],
        [{ proxy: 'http://proxy.example.com:3128' }, 'config.proxy'],
        [{ obo: { scopes: 's' } }, 'config.obo'],
        [{ oauth: { audience: 'https://api.example.com' } }, 'config.oauth.audience'],
        [{ oauth: { forward_audience_on_refresh: false } }, 'config.oauth.forward_audience_on_refresh'],
        [{ oauth: { send_resource_parameter: false } }, 'config.oauth.send_resource_parameter'],
        [
          { customUserVars: { A: { title: 'a', description: 'b', sensitive: false } } },
          'config.customUserVars',
        ],
      ];
      for (const [extra, field] of refused) {
        const res = await api.post('/api/mcp/servers', token, { config: { ...base, ...extra } });
        expect(res.statusCode, field).toBe(400);
        const errors = validationErrors(res);
        expect(
          errors.map((error) => error.path),
          field,
        ).toContain(field);
        expect(errors.find((error) => error.path === field)?.message).toMatch(
          /^is set by the administrator only/,
        );
      }
      expect(await hub.repos.servers.listNames()).toEqual([]);
    });
  });
});
