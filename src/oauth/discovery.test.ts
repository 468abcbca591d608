import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../connections/index.js';
import { HubError, isHubError } from '../errors/index.js';
import {
  asMetadata,
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubServer,
} from './oauth-test-kit.js';

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isHubError(error) ? error.code : `not a HubError: ${String(error)}`;
  }
  return undefined;
}

describe('discovery and initiation against a stub server', () => {
  let stub: StubServer;
  let kit: ServiceKit;
  beforeEach(async () => {
    stub = await startStubServer();
    kit = await makeServiceKit();
  });
  afterEach(async () => {
    await kit.close();
    await stub.stop();
  });

  const ctx = (extra: Record<string, unknown> = {}) => ({
    userId: 'alice',
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`, extra),
  });

  it('RFC 9728 + 8414: finds the AS through the path-inserted PRM and keeps its resource verbatim', async () => {
    installStubAs(stub);
    const found = await kit.service.discover(ctx());
    expect(found.source).toBe('discovered');
    expect(found.resource).toBe(`${stub.origin}/mcp`);
    expect(found.scopesSupported).toEqual(['mcp:tools']);
    expect(found.authorizationServer).toMatchObject({
      issuer: stub.origin,
      tokenEndpoint: `${stub.origin}/token`,
      revocationEndpoint: `${stub.origin}/revoke`,
      issParameterSupported: true,
      issuerMatch: 'exact',
    });
    expect(stub.requests[0]?.path).toBe('/.well-known/oauth-protected-resource/mcp');
  });

  it("tries the challenge's resource_metadata URL first", async () => {
    installStubAs(stub);
    stub.route('/custom-prm', {
      body: { resource: `${stub.origin}/mcp`, authorization_servers: [stub.origin] },
    });
    await kit.service.discover({ ...ctx(), challenge: { resourceMetadataUrl: `${stub.origin}/custom-prm` } });
    expect(stub.requests[0]?.path).toBe('/custom-prm');
    expect(stub.requests.some((r) => r.path.startsWith('/.well-known/oauth-protected-resource'))).toBe(false);
  });

  it('without PRM, falls back to the server origin as the AS (2025-03-26 servers)', async () => {
    installStubAs(stub);
    stub.route('/.well-known/oauth-protected-resource/mcp', undefined);
    const found = await kit.service.discover(ctx());
    expect(found.resource).toBe(`${stub.origin}/mcp`);
    expect(found.scopesSupported).toBeUndefined();
    expect(found.authorizationServer.issuer).toBe(stub.origin);
  });

  it('reads the iss and revocation fields of an OpenID-only AS (the SDK strips them)', async () => {
    installStubAs(stub);
    stub.route('/.well-known/oauth-authorization-server', undefined);
    stub.route('/.well-known/openid-configuration', {
      body: asMetadata(stub.origin, {
        jwks_uri: `${stub.origin}/jwks`,
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      }),
    });
    const found = await kit.service.discover(ctx());
    expect(found.authorizationServer.issParameterSupported).toBe(true);
    expect(found.authorizationServer.revocationEndpoint).toBe(`${stub.origin}/revoke`);
  });

  it('SS-13: refuses a PRM for another resource, and AS metadata naming another issuer', async () => {
    installStubAs(stub);
    stub.route('/.well-known/oauth-protected-resource/mcp', {
      body: { resource: 'https://mcp.b.example/mcp', authorization_servers: [stub.origin] },
    });
    expect(await codeOf(kit.service.discover(ctx()))).toBe('HUB_ERR_OAUTH_METADATA_INVALID');

    installStubAs(stub, { issuer: 'https://as.example' });
    expect(await codeOf(kit.service.discover(ctx()))).toBe('HUB_ERR_OAUTH_METADATA_INVALID');
  });

  it.each([
    'javascript:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'file:///etc/passwd',
    'vbscript:msgbox(1)',
  ])('SS-11: refuses authorization_endpoint %s, and no authorizationUrl is produced', async (endpoint) => {
    installStubAs(stub, { authorization_endpoint: endpoint });
    expect(await codeOf(kit.service.initiate(ctx()))).toBe('HUB_ERR_OAUTH_METADATA_INVALID');
    expect(stub.requests.some((r) => r.path === '/register' || r.path === '/token')).toBe(false);
  });

  it.each(['token_endpoint', 'registration_endpoint', 'revocation_endpoint', 'jwks_uri'])(
    'SS-10: refuses %s on a non-loopback http host; nothing is sent to it',
    async (field) => {
      installStubAs(stub, { [field]: 'http://as.example/endpoint' });
      expect(await codeOf(kit.service.initiate(ctx()))).toBe('HUB_ERR_OAUTH_METADATA_INVALID');
      expect(stub.requests.some((r) => r.method === 'POST')).toBe(false);
    },
  );

  it('SS-09: a resource_metadata URL the egress guard refuses stops discovery', async () => {
    installStubAs(stub);
    const guarded: FetchLike = (url, init) => {
      if (new URL(url).hostname === '10.0.0.1') return Promise.reject(new HubError('HUB_ERR_EGRESS_DENIED'));
      return globalThis.fetch(url, init);
    };
    const guardedKit = await makeServiceKit({ fetch: guarded });
    try {
      const error = await codeOf(
        guardedKit.service.discover({ ...ctx(), challenge: { resourceMetadataUrl: 'https://10.0.0.1/prm' } }),
      );
      expect(error).toBe('HUB_ERR_OAUTH_DISCOVERY_FAILED');
      expect(stub.requests).toHaveLength(0);
    } finally {
      await guardedKit.close();
    }
  });

  it('sends oauth_headers on every OAuth request', async () => {
    installStubAs(stub);
    await kit.service.initiate(ctx({ oauth_headers: { 'X-Tenant': 'acme' } }));
    expect(stub.requests.length).toBeGreaterThanOrEqual(3);
    for (const request of stub.requests) expect(request.headers['x-tenant'], request.path).toBe('acme');
  });

  it('configured endpoints skip discovery entirely', async () => {
    const config = {
      oauth: {
        authorization_url: `${stub.origin}/authorize`,
        token_url: `${stub.origin}/token`,
        client_id: 'preset',
      },
    };
    const flow = await kit.service.initiate(ctx(config));
    expect(stub.requests).toHaveLength(0);
    const url = new URL(flow.authorizationUrl);
    expect(url.searchParams.get('client_id')).toBe('preset');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('resource')).toBe(`${stub.origin}/mcp`);
  });

  it('OA-13: refuses an AS without S256, unless skip_code_challenge_check', async () => {
    installStubAs(stub, { code_challenge_methods_supported: undefined });
    expect(await codeOf(kit.service.initiate(ctx()))).toBe('HUB_ERR_OAUTH_PKCE_UNSUPPORTED');
    installStubAs(stub, { code_challenge_methods_supported: ['plain'] });
    expect(await codeOf(kit.service.initiate(ctx()))).toBe('HUB_ERR_OAUTH_PKCE_UNSUPPORTED');
    expect(stub.requests.some((r) => r.path === '/register')).toBe(false);

    const flow = await kit.service.initiate(ctx({ oauth: { skip_code_challenge_check: true } }));
    expect(new URL(flow.authorizationUrl).searchParams.get('code_challenge_method')).toBe('S256');
  });

  it('OA-11 / OA-14 / OA-18: the authorization URL and the registration are the hub’s own', async () => {
    installStubAs(stub);
    const flow = await kit.service.initiate(
      ctx({ oauth: { redirect_uri: 'https://attacker.example/cb', scope: 'ignored-when-prm-lists' } }),
    );
    const url = new URL(flow.authorizationUrl);
    const params = url.searchParams;
    expect(url.origin + url.pathname).toBe(`${stub.origin}/authorize`);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(params.get('resource')).toBe(`${stub.origin}/mcp`);
    expect(params.get('redirect_uri')).toBe('https://hub.example/api/mcp/srv/oauth/callback');
    expect(params.get('scope')).toBe('mcp:tools');
    expect(params.get('state')).toBe(flow.state);
    expect(Buffer.from(flow.state, 'base64url').length).toBeGreaterThanOrEqual(32);
    expect(flow.flowId).toBe('alice:srv');

    const registration = stub.requests.find((r) => r.path === '/register');
    const body = JSON.parse(registration?.body ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      application_type: 'web',
      redirect_uris: ['https://hub.example/api/mcp/srv/oauth/callback'],
      token_endpoint_auth_method: 'none',
      response_types: ['code'],
    });
    expect(body.grant_types).toEqual(['authorization_code', 'refresh_token']);
  });

  it('OA-18: the DCR auth method follows token_exchange_method', async () => {
    installStubAs(stub);
    await kit.service.initiate(ctx({ oauth: { token_exchange_method: 'basic_auth_header' } }));
    const registration = stub.requests.find((r) => r.path === '/register');
    expect(JSON.parse(registration?.body ?? '{}')).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
    });
  });

  it('OA-12: concurrent initiations get their own state and verifier; one registration serves all users', async () => {
    const as = installStubAs(stub);
    const flows = await Promise.all([
      kit.service.initiate(ctx()),
      kit.service.initiate(ctx()),
      kit.service.initiate({ ...ctx(), userId: 'bob' }),
    ]);
    expect(new Set(flows.map((f) => f.state)).size).toBe(3);
    const challenges = flows.map((f) => new URL(f.authorizationUrl).searchParams.get('code_challenge'));
    expect(new Set(challenges).size).toBe(3);
    expect(as.counts.registrations).toBe(1);
    const clientIds = flows.map((f) => new URL(f.authorizationUrl).searchParams.get('client_id'));
    expect(new Set(clientIds).size).toBe(1);
  });

  it('OA-17: when the PRM moves to another AS, the hub registers there and never shows it the old client', async () => {
    installStubAs(stub);
    const first = await kit.service.initiate(ctx());
    const firstClient = new URL(first.authorizationUrl).searchParams.get('client_id');

    const other = await startStubServer();
    try {
      installStubAs(other);
      stub.route('/.well-known/oauth-protected-resource/mcp', {
        body: { resource: `${stub.origin}/mcp`, authorization_servers: [other.origin] },
      });
      const second = await kit.service.initiate(ctx());
      const secondUrl = new URL(second.authorizationUrl);
      expect(secondUrl.origin).toBe(other.origin);
      expect(secondUrl.searchParams.get('client_id')).not.toBe(firstClient);
      expect(other.requests.filter((r) => r.path === '/register')).toHaveLength(1);
      for (const request of other.requests) {
        expect(request.body + JSON.stringify(request.query.toString())).not.toContain(firstClient ?? '-');
      }
    } finally {
      await other.stop();
    }
  });

  it('stores the registered client encrypted under the system user, bound to server and issuer', async () => {
    installStubAs(stub);
    const flow = await kit.service.initiate(ctx());
    const clientId = new URL(flow.authorizationUrl).searchParams.get('client_id') ?? '';
    const row = await kit.repos.credentials.get({
      userId: 'system',
      serverName: 'srv',
      kind: 'oauth_client',
      issuer: stub.origin,
    });
    expect(row).not.toBeNull();
    expect(row?.ciphertext).not.toContain(clientId);
    // The state record names no verifier or client credential in clear.
    const stateRecord = (await kit.kv.get(`oauth:state:${flow.state}`)) ?? '';
    expect(stateRecord).toContain('"sealed":"v1.');
    expect(stateRecord).not.toContain('codeVerifier');
    expect(stateRecord).not.toContain(clientId);
  });
});
