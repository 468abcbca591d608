import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../src/auth/index.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import {
  apiClient,
  startListener,
  startServersHub,
  type ApiClient,
  type Listener,
  type ServersTestHub,
} from './support/servers-hub.js';

/**
 * Issue 5: "no input produces a 5xx or a stored server that fails validation on read", over
 * generated create and patch bodies. Every generated host is a loopback or private IP literal, so
 * no test ever resolves a name or leaves the machine.
 */
describe('user-created servers: properties over generated bodies', () => {
  const BASE_SECRET = 'base-secret-31415926';
  let hub: ServersTestHub;
  let api: ApiClient;
  let probe: ProbeServer;
  let canary: Listener;
  let alice: string;
  let aliceIdentity: Identity;
  let adminIdentity: Identity;

  beforeAll(async () => {
    [probe, canary] = await Promise.all([startProbeServer(), startListener()]);
    hub = await startServersHub({
      yaml: `mcpSettings:\n  allowedDomains: ['127.0.0.1:${new URL(probe.url).port}']\n`,
    });
    api = apiClient(hub.app);
    alice = await hub.userToken('alice@example.com');
    aliceIdentity = await hub.identity.authenticate(alice);
    adminIdentity = await hub.identity.authenticate(await hub.userToken('root@example.com', 'ADMIN'));
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([probe?.stop(), canary?.close()]);
  });

  const tricky = fc.constantFrom(
    '${JWT_SECRET}',
    '${env:CREDS_KEY}',
    '{{LIBRECHAT_USER_ID}}',
    '{{ USER_EMAIL }}',
    'a\r\nX-Evil: 1',
    '***',
    '',
    ' ',
    '\u0000',
    '\u202e',
    'ｍｃｐ',
    'x'.repeat(9000),
  );
  const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), tricky);
  const url = fc.oneof(
    fc.constantFrom('PROBE', 'PROBE?q=1', 'PROBE#f', 'CANARY', 'USERINFO'),
    fc.constantFrom(
      'http://10.0.0.1/mcp',
      'http://169.254.169.254/',
      'ws://127.0.0.1:1/',
      'ftp://127.0.0.1/',
      'javascript:alert(1)',
    ),
    fc.constantFrom('PROBE?k=${JWT_SECRET}', 'PROBE?u={{LIBRECHAT_USER_ID}}'),
    text,
  );
  const headerName = fc.oneof(
    fc.constantFrom(
      'X-Api-Key',
      'Authorization',
      'Host',
      'Mcp-Session-Id',
      'constructor',
      'x-api-key',
      'X A',
    ),
    fc.string({ maxLength: 12 }),
  );
  const config = fc.record(
    {
      type: fc.constantFrom('sse', 'streamable-http', 'http', 'stdio', 'websocket', 'grpc'),
      url,
      title: fc.oneof(fc.constantFrom('GitHub', 'servers', 'Prop Server', 'ｍｃｐ'), text),
      description: text,
      iconPath: fc.oneof(
        fc.constantFrom('/icon.png', 'https://127.0.0.1/i.png', 'javascript:x', '//evil/x'),
        text,
      ),
      headers: fc.dictionary(headerName, fc.oneof(text, fc.constant(BASE_SECRET)), { maxKeys: 4 }),
      oauth: fc.record(
        {
          client_id: text,
          client_secret: text,
          token_url: url,
          redirect_uri: fc.constant('https://attacker.example/cb'),
          skip_code_challenge_check: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      apiKey: fc.record(
        {
          source: fc.constantFrom('admin', 'user', 'x'),
          authorization_type: fc.constantFrom('bearer', 'basic', 'custom', 'x'),
          key: text,
          custom_header: headerName,
        },
        { requiredKeys: [] },
      ),
      command: fc.constantFrom('sh', 'node'),
      startup: fc.boolean(),
      customUserVars: fc.constant({ K: { title: 't', description: 'd' } }),
      foo: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
  /** Configs that are mostly valid, so stored servers are common; one field may be off. */
  const goodValue = fc.oneof(
    fc.stringMatching(/^[ -~]{0,30}$/),
    fc.constantFrom('{{LIBRECHAT_USER_ID}}', 'k-{{USER_EMAIL}}', '***', BASE_SECRET),
  );
  const validish = fc.record(
    {
      type: fc.constantFrom('streamable-http', 'http'),
      url: fc.constantFrom('PROBE', 'PROBE?q=1', 'PROBE', 'CANARY', 'http://10.0.0.1/mcp'),
      title: fc.oneof(
        fc.constantFrom('GitHub', 'servers', 'Prop Server', 'ｍｃｐ'),
        fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,30}$/),
      ),
      description: fc.stringMatching(/^[ -~]{0,30}$/),
      headers: fc.dictionary(
        fc.oneof(fc.constant('X-Api-Key'), fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/)),
        goodValue,
        {
          maxKeys: 3,
        },
      ),
      oauth: fc.record(
        { client_id: fc.stringMatching(/^[a-z]{1,8}$/), client_secret: goodValue },
        { requiredKeys: [] },
      ),
      apiKey: fc.constantFrom(
        { source: 'user', authorization_type: 'bearer' },
        { source: 'admin', key: 'k1', authorization_type: 'custom', custom_header: 'X-Key' },
        { source: 'admin', key: '***', authorization_type: 'bearer' },
      ),
    },
    { requiredKeys: ['type', 'url', 'title'] },
  );
  const nearlyValid = fc
    .tuple(
      validish,
      fc.option(
        fc.tuple(
          fc.constantFrom('url', 'title', 'headers', 'startup', 'foo', 'type', 'apiKey'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      ),
    )
    .map(([c, change]) => (change === null ? c : { ...c, [change[0]]: change[1] }));
  const clean = fc.record(
    {
      type: fc.constantFrom('streamable-http', 'http'),
      url: fc.constant('PROBE'),
      title: fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,20}$/),
      description: fc.stringMatching(/^[ -~]{0,20}$/),
    },
    { requiredKeys: ['type', 'url', 'title'] },
  );
  const denied = clean.map((c) => ({ ...c, url: 'CANARY' }));
  const body = fc.oneof(
    { weight: 2, arbitrary: clean.map((c) => ({ config: c })) },
    { weight: 1, arbitrary: denied.map((c) => ({ config: c })) },
    { weight: 4, arbitrary: nearlyValid.map((c) => ({ config: c })) },
    { weight: 2, arbitrary: config.map((c) => ({ config: c })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((c) => ({ config: c })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );

  /** Puts the live peers' addresses into the placeholders the generators use. */
  const concrete = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value ?? null)
        .replaceAll('USERINFO', probe.url.replace('http://', 'http://u:p@'))
        .replaceAll('PROBE', probe.url)
        .replaceAll('CANARY', canary.url),
    );

  /** Every stored server still reads back through the registry (and so re-validates as user input). */
  const everyStoredServerReads = async (): Promise<void> => {
    for (const name of await hub.repos.servers.listNames()) {
      const server = await hub.feature.registry.get(name, adminIdentity);
      expect(server.source).toBe('db');
    }
  };

  it('POST: never a 5xx; whatever is stored reads back, re-validates, and shows secrets masked', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, async (generated) => {
        const res = await api.post('/api/mcp/servers', alice, concrete(generated));
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        expect([201, 400, 403, 409], res.body).toContain(res.statusCode);
        if (res.statusCode === 403) expect(res.json()).toMatchObject({ error: 'MCP_DOMAIN_NOT_ALLOWED' });
        expect(res.body).not.toContain(BASE_SECRET);
        if (res.statusCode !== 201) return;
        const { serverName, headers } = res.json<{ serverName: string; headers?: Record<string, string> }>();
        expect(Object.values(headers ?? {}).every((v) => v === '***')).toBe(true);
        const read = await api.get(`/api/mcp/servers/${serverName}`, alice);
        expect(read.statusCode).toBe(200);
        expect(read.body).not.toContain(BASE_SECRET);
        const server = await hub.feature.registry.get(serverName, aliceIdentity);
        expect(server).toMatchObject({ name: serverName, source: 'db', config: { startup: false } });
      }),
      { numRuns: 150 },
    );
    // Not vacuous: the generators reach every outcome.
    for (const status of [201, 400, 403]) expect(seen.get(status) ?? 0, `${status}`).toBeGreaterThan(3);
    await everyStoredServerReads();
    expect(canary.hits).toBe(0);
  }, 120_000);

  it('PATCH: never a 5xx; the stored server always reads back, and its secret never leaves', async () => {
    const created = await api.post('/api/mcp/servers', alice, {
      config: {
        type: 'streamable-http',
        title: 'Patch Base',
        url: probe.url,
        headers: { 'X-Api-Key': BASE_SECRET },
      },
    });
    expect(created.statusCode).toBe(201);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, async (generated) => {
        const res = await api.patch('/api/mcp/servers/patch-base', alice, concrete(generated));
        seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
        expect([200, 400, 403], res.body).toContain(res.statusCode);
        expect(res.body).not.toContain(BASE_SECRET);
        const server = await hub.feature.registry.get('patch-base', aliceIdentity);
        expect(server.source).toBe('db');
        const read = await api.get('/api/mcp/servers/patch-base', alice);
        expect(read.statusCode).toBe(200);
        expect(read.body).not.toContain(BASE_SECRET);
      }),
      { numRuns: 150 },
    );
    for (const status of [200, 400]) expect(seen.get(status) ?? 0, `${status}`).toBeGreaterThan(3);
    await everyStoredServerReads();
    expect(canary.hits).toBe(0);
    expect(hub.logLines.join('\n')).not.toContain(BASE_SECRET);
  }, 120_000);
});
