import { describe, expect, it } from 'vitest';
import { validateConfigText } from './validate-config.js';
import type { ConfigIssue } from './issues.js';

/** A librechat.yaml-style MCP section, written the way LibreChat's docs and users write them. */
const LIBRECHAT_STYLE = `
version: 1.2.8

mcpServers:
  # --- stdio ---
  filesystem:
    # type omitted: command makes it stdio
    command: npx
    args:
      - -y
      - "@modelcontextprotocol/server-filesystem"
      - /home/user/LibreChat/
    iconPath: /home/user/LibreChat/client/public/assets/logo.svg
  puppeteer:
    type: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-puppeteer"]
    timeout: 300000
    initTimeout: 120000
    chatMenu: false
  brave-search:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-brave-search"]
    env:
      BRAVE_API_KEY: "\${BRAVE_API_KEY}"
      LOG_LEVEL: warn
    stderr: ignore
    serverInstructions: |
      Use brave_web_search for current events.
      Prefer at most three queries per answer.

  # --- sse ---
  everything:
    # type omitted: a lone http(s) url makes it SSE
    url: http://localhost:3001/sse
    timeout: 60000
  legacy-sse:
    type: sse
    url: https://mcp.internal.example.com/sse
    headers:
      X-Api-Key: "\${INTERNAL_MCP_KEY}"
      X-User: "{{LIBRECHAT_USER_ID}}"
    sseReadTimeout: 600000

  # --- streamable http ---
  github:
    type: streamable-http
    url: https://api.githubcopilot.com/mcp/
    title: GitHub
    description: Issues, pull requests and code search
    headers:
      Authorization: "Bearer {{GITHUB_PAT}}"
    customUserVars:
      GITHUB_PAT:
        title: GitHub Personal Access Token
        description: A fine-grained token with repository read access
    startup: false
  deepwiki:
    type: http
    url: https://mcp.deepwiki.com/mcp
    serverInstructions: true
  linear:
    type: streamable-http
    url: https://mcp.linear.app/mcp
    requiresOAuth: true
    oauth:
      authorization_url: https://linear.app/oauth/authorize
      token_url: https://api.linear.app/oauth/token
      client_id: "\${LINEAR_CLIENT_ID}"
      client_secret: "\${LINEAR_CLIENT_SECRET}"
      scope: "read write"
      redirect_uri: http://localhost:3080/api/mcp/linear/oauth/callback
      token_exchange_method: default_post
      grant_types_supported: [authorization_code, refresh_token]
      token_endpoint_auth_methods_supported: [client_secret_post]
      response_types_supported: [code]
      code_challenge_methods_supported: [S256]
      skip_code_challenge_check: false
      revocation_endpoint: https://api.linear.app/oauth/revoke
      revocation_endpoint_auth_methods_supported: [client_secret_post]
    oauth_headers:
      User-Agent: LibreChat
  search-api:
    type: streamable-http
    url: https://search.example.com/mcp
    apiKey:
      source: user
      authorization_type: custom
      custom_header: X-Search-Key

  # --- websocket ---
  ws-tools:
    type: websocket
    url: wss://tools.example.com/mcp
  ws-inferred:
    url: ws://localhost:8765

mcpSettings:
  allowedDomains:
    - example.com
    - "*.example.com"
    - localhost:3001
    - 10.0.0.0/8
    - "https://api.example.com:8443"
    - "http://mcp-server:3000"
  allowedAddresses:
    - host.docker.internal:8080
    - 10.0.0.5:8000

interface:
  mcpServers:
    placeholder: MCP Servers
    use: true
    create: false
    share: true
    public: false
`;

const ENV = {
  BRAVE_API_KEY: 'brave-secret',
  INTERNAL_MCP_KEY: 'internal-secret',
  LINEAR_CLIENT_ID: 'linear-client',
  LINEAR_CLIENT_SECRET: 'linear-secret',
};

function issuesOf(text: string, env: Record<string, string | undefined> = ENV): ConfigIssue[] {
  const result = validateConfigText(text, env);
  if (result.ok) throw new Error('expected the config to be refused');
  return result.issues;
}

function valueOf(text: string, env: Record<string, string | undefined> = ENV) {
  const result = validateConfigText(text, env);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${JSON.stringify(result.issues, null, 2)}`);
  return result.value;
}

describe('validateConfigText: LibreChat compatibility', () => {
  it('reads a LibreChat-style file unchanged, with every transport', () => {
    const config = valueOf(LIBRECHAT_STYLE);
    expect(Object.keys(config.mcpServers)).toEqual([
      'filesystem',
      'puppeteer',
      'brave-search',
      'everything',
      'legacy-sse',
      'github',
      'deepwiki',
      'linear',
      'search-api',
      'ws-tools',
      'ws-inferred',
    ]);
    const types = Object.fromEntries(
      Object.entries(config.mcpServers).map(([name, server]) => [name, server.type]),
    );
    expect(types).toEqual({
      filesystem: 'stdio',
      puppeteer: 'stdio',
      'brave-search': 'stdio',
      everything: 'sse',
      'legacy-sse': 'sse',
      github: 'streamable-http',
      deepwiki: 'streamable-http',
      linear: 'streamable-http',
      'search-api': 'streamable-http',
      'ws-tools': 'websocket',
      'ws-inferred': 'websocket',
    });
  });

  it('keeps field values as written, expanding only ${NAME}', () => {
    const { mcpServers } = valueOf(LIBRECHAT_STYLE);
    expect(mcpServers.filesystem).toEqual({
      type: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/user/LibreChat/'],
      iconPath: '/home/user/LibreChat/client/public/assets/logo.svg',
    });
    expect(mcpServers['brave-search']).toMatchObject({
      env: { BRAVE_API_KEY: 'brave-secret', LOG_LEVEL: 'warn' },
      stderr: 'ignore',
      serverInstructions:
        'Use brave_web_search for current events.\nPrefer at most three queries per answer.\n',
    });
    // {{...}} placeholders belong to the per-user layer and are left alone.
    expect(mcpServers['legacy-sse']).toMatchObject({
      headers: { 'X-Api-Key': 'internal-secret', 'X-User': '{{LIBRECHAT_USER_ID}}' },
    });
    expect(mcpServers.github).toMatchObject({
      headers: { Authorization: 'Bearer {{GITHUB_PAT}}' },
      customUserVars: { GITHUB_PAT: { title: 'GitHub Personal Access Token' } },
      startup: false,
    });
    expect(mcpServers.linear).toMatchObject({
      oauth: { client_id: 'linear-client', client_secret: 'linear-secret', scope: 'read write' },
      oauth_headers: { 'User-Agent': 'LibreChat' },
    });
  });

  it('maps interface.mcpServers onto the USER role, leaving ADMIN at its defaults', () => {
    const { roles } = valueOf(LIBRECHAT_STYLE);
    expect(roles.USER.MCP_SERVERS).toEqual({ USE: true, CREATE: false, SHARE: true, SHARE_PUBLIC: false });
    expect(roles.ADMIN.MCP_SERVERS).toEqual({ USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true });
  });

  it('accepts YAML merge keys, as js-yaml does for LibreChat', () => {
    const merged = valueOf(`
mcpServers:
  a: &base
    type: streamable-http
    url: https://a.example.com/mcp
    timeout: 30000
  b:
    <<: *base
    url: https://b.example.com/mcp
`).mcpServers.b;
    expect(merged).toEqual({ type: 'streamable-http', url: 'https://b.example.com/mcp', timeout: 30000 });
  });
});

describe('validateConfigText: defaults', () => {
  it('treats an empty file as no servers with every default', () => {
    expect(valueOf('')).toEqual({
      mcpServers: {},
      mcpSettings: { idleTimeout: 900_000, initTimeout: 60_000, startupConcurrency: 4 },
      roles: {
        USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: false, SHARE_PUBLIC: false } },
        ADMIN: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true } },
      },
      sso: [],
      warnings: [],
    });
  });

  it('treats a heading with everything commented out as absent', () => {
    expect(valueOf('mcpServers:\n  # github:\n  #   url: https://x\nmcpSettings:\n').mcpServers).toEqual({});
  });

  it('gives stdio servers empty args and leaves the allowlists unset when not given', () => {
    const config = valueOf('mcpServers:\n  tool:\n    command: /opt/tool\n');
    expect(config.mcpServers.tool).toEqual({ type: 'stdio', command: '/opt/tool', args: [] });
    expect(config.mcpSettings.allowedDomains).toBeUndefined();
    expect(config.mcpSettings.allowedAddresses).toBeUndefined();
  });

  it('merges partial roles over the defaults, roles winning over interface', () => {
    const { roles } = valueOf(`
interface:
  mcpServers: { create: false, public: true }
roles:
  USER: { MCP_SERVERS: { CREATE: true } }
  ADMIN: { MCP_SERVERS: { SHARE_PUBLIC: false } }
`);
    expect(roles.USER.MCP_SERVERS).toEqual({ USE: true, CREATE: true, SHARE: false, SHARE_PUBLIC: true });
    expect(roles.ADMIN.MCP_SERVERS).toEqual({ USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: false });
  });

  it('accepts the hub-only fields: idleTimeout, access and the mcpSettings tuning', () => {
    const config = valueOf(`
mcpServers:
  internal:
    url: https://internal.example.com/mcp
    idleTimeout: 60000
    access: { roles: [ADMIN], users: [alice@example.com] }
mcpSettings:
  idleTimeout: 0
  initTimeout: 15000
  startupConcurrency: 8
`);
    expect(config.mcpServers.internal).toMatchObject({ idleTimeout: 60000, access: { roles: ['ADMIN'] } });
    expect(config.mcpSettings).toEqual({ idleTimeout: 0, initTimeout: 15000, startupConcurrency: 8 });
  });

  it('takes the session connection caps as whole numbers from 0, and leaves them unset by default', () => {
    const config = valueOf('mcpSettings:\n  maxSessionConnections: 0\n  maxSessionConnectionsTotal: 250\n');
    expect(config.mcpSettings).toMatchObject({ maxSessionConnections: 0, maxSessionConnectionsTotal: 250 });
    expect(valueOf('').mcpSettings.maxSessionConnections).toBeUndefined();
    const issues = issuesOf('mcpSettings:\n  maxSessionConnections: -1\n  maxSessionConnectionsTotal: 2.5\n');
    expect(issues.map((issue) => issue.path)).toEqual([
      'mcpSettings.maxSessionConnections',
      'mcpSettings.maxSessionConnectionsTotal',
    ]);
  });

  it('accepts a numeric version, as YAML reads `version: 1.2`', () => {
    expect(valueOf('version: 1.2\n').mcpServers).toEqual({});
  });
});

describe('validateConfigText: issues', () => {
  it('names the path and the right key for oauth.clientId', () => {
    const issues = issuesOf(`
mcpServers:
  github:
    url: https://api.githubcopilot.com/mcp/
    oauth:
      clientId: abc
`);
    expect(issues).toEqual([
      {
        path: 'mcpServers.github.oauth.clientId',
        message: "unknown key 'clientId' (did you mean 'client_id'?)",
        line: 6,
        column: 7,
      },
    ]);
  });

  it('reports every issue in one pass, in file order', () => {
    const issues = issuesOf(`
mcp_servers: {}
mcpServers:
  github:
    type: streamable-http
    url: ftp://example.com/mcp
    header: { A: b }
    oauth: { clientSecret: x, scopes: repo, authorizationUrl: https://x, tokenUrl: https://y, redirectUri: https://z }
    initTimeOut: 5
  local:
    command: 42
    environment: { A: b }
  servers:
    url: https://x.example.com
  bad.name:
    url: https://x.example.com
mcpSettings:
  allowedDomains: ["ok.example.com", "http://x/path", "not a host", "300.1.1.1", "10.0.0.0/40"]
  idleTimeout: -1
roles:
  USER: { MCP_SERVERS: { USE: yes please } }
  GUEST: {}
`);
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "mcp_servers: unknown key 'mcp_servers' (did you mean 'mcpServers'?)",
      'mcpServers.github.url: must be an http:// or https:// URL',
      "mcpServers.github.header: unknown key 'header' (did you mean 'headers'?)",
      "mcpServers.github.oauth.clientSecret: unknown key 'clientSecret' (did you mean 'client_secret'?)",
      "mcpServers.github.oauth.scopes: unknown key 'scopes' (did you mean 'scope'?)",
      "mcpServers.github.oauth.authorizationUrl: unknown key 'authorizationUrl' (did you mean 'authorization_url'?)",
      "mcpServers.github.oauth.tokenUrl: unknown key 'tokenUrl' (did you mean 'token_url'?)",
      "mcpServers.github.oauth.redirectUri: unknown key 'redirectUri' (did you mean 'redirect_uri'?)",
      "mcpServers.github.initTimeOut: unknown key 'initTimeOut' (did you mean 'initTimeout'?)",
      'mcpServers.local.command: expected a string, got an integer (put it in quotes)',
      "mcpServers.local.environment: unknown key 'environment' (did you mean 'env'?)",
      "mcpServers.servers: server name 'servers' is reserved (servers, tools, oauth, connection are route words)",
      'mcpServers["bad.name"]: server name "bad.name" must be 1-64 letters, digits, \'_\' or \'-\', starting with a letter or digit',
      expect.stringMatching(
        /^mcpSettings\.allowedDomains\[1\]: 'http:\/\/x\/path' must be http\(s\):\/\/host\[:port\]/,
      ),
      expect.stringMatching(/^mcpSettings\.allowedDomains\[2\]: must be non-empty with no spaces/),
      expect.stringMatching(/^mcpSettings\.allowedDomains\[3\]: '300\.1\.1\.1' is not a valid IPv4 address/),
      expect.stringMatching(/^mcpSettings\.allowedDomains\[4\]: '10\.0\.0\.0\/40' is not a valid CIDR range/),
      'mcpSettings.idleTimeout: must be at least 0',
      'roles.USER.MCP_SERVERS.USE: expected true or false, got a string',
      "roles.GUEST: unknown key 'GUEST'",
    ]);
    expect(issues.every((issue) => typeof issue.line === 'number')).toBe(true);
  });

  it('refuses names that break the naming rule, case-insensitively for reserved words', () => {
    const issues = issuesOf(`
mcpServers:
  Tools: { url: https://a.example.com }
  OAuth: { url: https://a.example.com }
  connection: { url: https://a.example.com }
  -leading-dash: { url: https://a.example.com }
  ${'x'.repeat(65)}: { url: https://a.example.com }
  has space: { url: https://a.example.com }
  ok_Name-1: { url: https://a.example.com }
`);
    expect(issues.map((issue) => issue.path)).toEqual([
      'mcpServers.Tools',
      'mcpServers.OAuth',
      'mcpServers.connection',
      'mcpServers.-leading-dash',
      `mcpServers.${'x'.repeat(65)}`,
      'mcpServers["has space"]',
    ]);
    expect(issues[0]?.message).toContain("'Tools' is reserved");
  });

  it('explains unknown top-level and interface keys from a full librechat.yaml', () => {
    const issues = issuesOf('cache: true\ninterface:\n  modelSelect: true\n  mcpServers: { use: true }\n');
    expect(issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "cache: unknown key 'cache': a Switchboard file holds only mcpServers, mcpSettings, roles, interface, auth and version",
      "interface.modelSelect: unknown key 'modelSelect': Switchboard reads only 'interface.mcpServers'",
    ]);
  });

  it('reports a missing environment variable by path and name, with the rest of the issues', () => {
    const issues = issuesOf(
      'mcpServers:\n  a:\n    url: https://a.example.com\n    headers:\n      Authorization: "Bearer ${A_TOKEN}"\n    bogus: 1\n',
      {},
    );
    expect(issues).toEqual([
      {
        path: 'mcpServers.a.headers.Authorization',
        message: 'environment variable A_TOKEN is not set',
        line: 5,
        column: 7,
      },
      { path: 'mcpServers.a.bogus', message: "unknown key 'bogus'", line: 6, column: 5 },
    ]);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const issues = issuesOf('mcpServers:\n  a:\n    args: [1, 2\n  b: {}\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: '', line: 4, column: 3 });
    expect(issues[0]?.message).toMatch(/^YAML: /);
  });

  it('reports a duplicate key as a YAML error', () => {
    const issues = issuesOf(
      'mcpServers:\n  a: { url: https://a.example.com }\n  a: { url: https://b.example.com }\n',
    );
    expect(issues[0]).toMatchObject({ path: '', line: 3, message: 'YAML: Map keys must be unique' });
  });

  it('refuses a file that is not a mapping', () => {
    expect(issuesOf('- a\n- b\n')).toEqual([
      { path: '', message: 'the file must be a mapping of sections (mcpServers: …)' },
    ]);
  });

  it('refuses a self-referencing alias instead of looping', () => {
    expect(issuesOf('mcpServers: &a\n  x: *a\n')[0]?.message).toMatch(/^YAML: /);
  });
});
