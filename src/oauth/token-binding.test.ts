import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubAs,
  type StubServer,
} from './oauth-test-kit.js';
import type { OAuthServerContext } from './types.js';

describe('tokens are bound to the destination they were issued for', () => {
  let stub: StubServer;
  let elsewhere: StubServer;
  let as: StubAs;
  let kit: ServiceKit;
  beforeEach(async () => {
    [stub, elsewhere] = await Promise.all([startStubServer(), startStubServer()]);
    as = installStubAs(stub);
    kit = await makeServiceKit();
  });
  afterEach(async () => {
    await kit.close();
    await Promise.all([stub.stop(), elsewhere.stop()]);
  });

  const ctx = (overrides: Partial<OAuthServerContext> = {}): OAuthServerContext => ({
    userId: 'alice',
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`),
    ...overrides,
  });
  const tokenRow = async () => {
    const meta = (await kit.repos.credentials.listForUser('alice')).find((r) => r.kind === 'oauth_tokens');
    return meta ? kit.repos.credentials.get(meta) : null;
  };

  async function authorize(context = ctx()): Promise<string> {
    const flow = await kit.service.initiate(context);
    const done = await kit.service.completeCallback({
      serverName: 'srv',
      code: 'c',
      state: flow.state,
      iss: stub.origin,
      isBound: () => true,
    });
    expect(done.ok).toBe(true);
    return (await kit.service.getAccessToken(context)) ?? '';
  }

  it('V-01: a changed URL, header template or OAuth block makes the tokens absent; nothing is sent', async () => {
    const token = await authorize();
    expect(token).toMatch(/^at-/);
    const moved = [
      ctx({ config: serverConfig(`${elsewhere.origin}/mcp`), serverUrl: `${elsewhere.origin}/mcp` }),
      ctx({ config: serverConfig(`${stub.origin}/mcp`, { headers: { 'X-Forward': '{{MCP_API_KEY}}' } }) }),
      ctx({ config: serverConfig(`${stub.origin}/mcp`, { oauth: { scope: 'admin' } }) }),
    ];
    for (const context of moved) {
      expect(await kit.service.getAccessToken(context)).toBeNull();
      expect(await kit.service.authState(context)).toBe('none');
      const seen: string[] = [];
      const fetch = kit.service.authorizedFetch((_url, init) => {
        seen.push(new Headers(init?.headers).get('authorization') ?? '');
        return Promise.resolve(new Response('{}', { status: 200 }));
      }, context);
      await fetch(context.serverUrl, { method: 'POST', body: '{}' });
      expect(seen).toEqual(['']);
    }
    // Back at the destination it was issued for, the token is still there: a read never deletes.
    expect(await kit.service.getAccessToken(ctx())).toBe(token);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('V-01: a URL outside the resource the tokens were issued for (a placeholder moved it) gets no token', async () => {
    await authorize();
    for (const serverUrl of [`${stub.origin}/other`, `${elsewhere.origin}/mcp`, `${stub.origin}/mcpx`]) {
      expect(await kit.service.getAccessToken(ctx({ serverUrl }))).toBeNull();
      expect(await kit.service.authState(ctx({ serverUrl }))).toBe('none');
    }
    expect(await kit.service.getAccessToken(ctx({ serverUrl: `${stub.origin}/mcp/sub` }))).toMatch(/^at-/);
  });

  it('V-01: a request on another origin than the server URL never carries the token', async () => {
    await authorize();
    const seen: string[] = [];
    const fetch = kit.service.authorizedFetch((url, init) => {
      seen.push(`${url.toString()} ${new Headers(init?.headers).get('authorization') ?? '-'}`);
      return Promise.resolve(new Response('{}', { status: 200 }));
    }, ctx());
    await fetch(`${elsewhere.origin}/messages`, { method: 'POST', body: '{}' });
    expect(seen).toEqual([`${elsewhere.origin}/messages -`]);
  });

  it('rows written before tokens were bound read as absent (the user authorizes once more)', async () => {
    await authorize();
    const row = await tokenRow();
    if (!row) throw new Error('no token row');
    const aad = `oauth_tokens|alice|srv|${row.issuer}`;
    const { binding: _dropped, ...legacy } = JSON.parse(kit.keyring.decrypt(row.ciphertext, aad)) as Record<
      string,
      unknown
    >;
    await kit.repos.credentials.put({ ...row, ciphertext: kit.keyring.encrypt(JSON.stringify(legacy), aad) });
    expect(await kit.service.getAccessToken(ctx())).toBeNull();
    expect(await kit.service.authState(ctx())).toBe('none');
    // Metadata (no secret) is still shown; a new authorization replaces the row.
    expect(await kit.service.tokenMetadata('alice', 'srv')).not.toBeNull();
    expect(await authorize()).toMatch(/^at-/);
  });

  it('V-05: revoking tokens of another destination sends nothing and deletes them', async () => {
    await authorize();
    const movedConfig = serverConfig(`${elsewhere.origin}/mcp`);
    await kit.service.revoke(ctx({ config: movedConfig, serverUrl: `${elsewhere.origin}/mcp` }));
    expect(as.counts.revocations).toBe(0);
    expect(elsewhere.requests).toHaveLength(0);
    expect(await tokenRow()).toBeNull();
  });

  it('V-05: a configured revocation endpoint on another origin than the token endpoint gets no token and no secret', async () => {
    const config = serverConfig(`${stub.origin}/mcp`, {
      oauth: {
        authorization_url: `${stub.origin}/authorize`,
        token_url: `${stub.origin}/token`,
        revocation_endpoint: `${elsewhere.origin}/revoke`,
        client_id: 'hub',
        client_secret: 'owner-secret',
      },
    });
    await authorize(ctx({ config }));
    await kit.service.revoke(ctx({ config }));
    expect(elsewhere.requests).toHaveLength(0);
    expect(await tokenRow()).toBeNull();
    expect(kit.logLines.join('\n')).not.toContain('owner-secret');
  });

  it('V-05: a configured revocation endpoint on the token endpoint’s origin is used', async () => {
    const config = serverConfig(`${stub.origin}/mcp`, {
      oauth: {
        authorization_url: `${stub.origin}/authorize`,
        token_url: `${stub.origin}/token`,
        revocation_endpoint: `${stub.origin}/revoke`,
        client_id: 'hub',
        client_secret: 'owner-secret',
      },
    });
    await authorize(ctx({ config }));
    await kit.service.revoke(ctx({ config }));
    expect(as.counts.revocations).toBe(2);
  });
});
