import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FetchLike } from '../connections/index.js';
import { isHubError } from '../errors/index.js';
import {
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubAs,
  type StubServer,
} from './oauth-test-kit.js';

describe('tokens: refresh, 401 handling, revocation, step-up', () => {
  let stub: StubServer;
  let as: StubAs;
  let kit: ServiceKit;
  beforeEach(async () => {
    stub = await startStubServer();
    as = installStubAs(stub);
    kit = await makeServiceKit();
  });
  afterEach(async () => {
    await kit.close();
    await stub.stop();
  });

  const ctx = (userId = 'alice') => ({
    userId,
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`),
  });
  const refreshRequests = () =>
    stub.requests.filter(
      (r) => r.path === '/token' && new URLSearchParams(r.body).get('grant_type') === 'refresh_token',
    );

  async function authorize(userId = 'alice'): Promise<string> {
    const flow = await kit.service.initiate(ctx(userId));
    const result = await kit.service.completeCallback({
      serverName: 'srv',
      code: 'c',
      state: flow.state,
      iss: stub.origin,
      isBound: () => true,
    });
    expect(result.ok).toBe(true);
    const token = await kit.service.getAccessToken(ctx(userId));
    expect(token).toMatch(/^at-/);
    return token ?? '';
  }

  it('returns the stored token while fresh, without touching the AS', async () => {
    const token = await authorize();
    const before = stub.requests.length;
    expect(await kit.service.getAccessToken(ctx())).toBe(token);
    expect(stub.requests.length).toBe(before);
    expect(await kit.service.getAccessToken(ctx('bob'))).toBeNull();
  });

  it('FT-12 / OA-19: refreshes inside the skew margin, stores the rotated refresh token, never reuses the old', async () => {
    const first = await authorize();
    kit.advance(3_600_000 - 30_000); // 30 s left < 60 s margin: stale by the hub's clock
    const second = await kit.service.getAccessToken(ctx());
    expect(second).not.toBe(first);
    expect(refreshRequests()).toHaveLength(1);
    const usedFirst = new URLSearchParams(refreshRequests()[0]?.body).get('refresh_token');
    expect(new URLSearchParams(refreshRequests()[0]?.body).get('resource')).toBe(`${stub.origin}/mcp`);
    kit.advance(3_600_000);
    const third = await kit.service.getAccessToken(ctx());
    expect(third).not.toBe(second);
    const usedSecond = new URLSearchParams(refreshRequests()[1]?.body).get('refresh_token');
    expect(usedSecond).not.toBe(usedFirst);
    expect(as.counts.refreshGrants).toBe(2);
    expect(await kit.service.authState(ctx())).toBe('authorized');
  });

  it('LD-04: 20 concurrent callers just after expiry → one refresh; all get the new token', async () => {
    await authorize();
    kit.advance(3_600_000 + 1);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => kit.service.getAccessToken(ctx())));
    expect(new Set(tokens).size).toBe(1);
    expect(refreshRequests()).toHaveLength(1);
  });

  it('OA-20: invalid_grant → null, tokens gone, needs_auth, exactly one refresh attempt', async () => {
    await authorize();
    kit.advance(3_600_000 + 1);
    as.failTokenWith({ status: 400, body: { error: 'invalid_grant', error_description: 'revoked' } });
    expect(await kit.service.authState(ctx())).toBe('expiring');
    expect(await kit.service.getAccessToken(ctx())).toBeNull();
    expect(await kit.service.getAccessToken(ctx())).toBeNull();
    expect(refreshRequests()).toHaveLength(1);
    expect(await kit.service.authState(ctx())).toBe('needs_auth');
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
    // A new authorization clears it.
    as.failTokenWith(undefined);
    await authorize();
    expect(await kit.service.authState(ctx())).toBe('authorized');
  });

  it('FT-09: a failing token endpoint → bounded retries, then a typed error; the tokens stay', async () => {
    await authorize();
    kit.advance(3_600_000 + 1);
    as.failTokenWith({ status: 503, body: 'upstream down' });
    let error: unknown;
    try {
      await kit.service.getAccessToken(ctx());
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_OAUTH_TOKEN_FAILED')).toBe(true);
    expect(refreshRequests()).toHaveLength(3);
    expect(await kit.service.tokenMetadata('alice', 'srv')).not.toBeNull();
    as.failTokenWith(undefined);
    expect(await kit.service.getAccessToken(ctx())).toMatch(/^at-/);
  });

  it('FT-08: authorizedFetch adds the bearer, refreshes once on 401, retries once; a second 401 is returned', async () => {
    const first = await authorize();
    let rejectOnce = true;
    const seen: (string | null)[] = [];
    stub.route('/resource', (req) => {
      seen.push(req.headers.authorization ?? null);
      if (req.headers.authorization === `Bearer ${first}` && rejectOnce) return { status: 401, body: '' };
      return { status: 200, body: { ok: true } };
    });
    const base: FetchLike = (url, init) => globalThis.fetch(url, init);
    const authed = kit.service.authorizedFetch(base, ctx());
    const ok = await authed(`${stub.origin}/resource`, { method: 'POST', body: '{"x":1}' });
    expect(ok.status).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(`Bearer ${first}`);
    expect(seen[1]).not.toBe(`Bearer ${first}`);
    expect(refreshRequests()).toHaveLength(1);

    stub.route('/resource', () => ({ status: 401, body: '' }));
    const denied = await authed(`${stub.origin}/resource`);
    expect(denied.status).toBe(401);
    expect(refreshRequests()).toHaveLength(2); // one refresh per request, never a loop
    rejectOnce = false;

    const anonymous = kit.service.authorizedFetch(base, ctx('bob'));
    stub.route('/resource', (req) => ({ status: req.headers.authorization === undefined ? 401 : 500 }));
    expect((await anonymous(`${stub.origin}/resource`)).status).toBe(401);
  });

  it('FT-08: refreshAfterUnauthorized does not refresh when the token already changed', async () => {
    const token = await authorize();
    expect(await kit.service.refreshAfterUnauthorized({ ...ctx(), rejectedToken: 'an-older-token' })).toBe(
      token,
    );
    expect(refreshRequests()).toHaveLength(0);
    const next = await kit.service.refreshAfterUnauthorized({ ...ctx(), rejectedToken: token });
    expect(next).not.toBe(token);
    expect(refreshRequests()).toHaveLength(1);
  });

  it('revoke: RFC 7009 for the refresh then the access token, then the tokens are gone', async () => {
    await authorize();
    const stored = as.minted.filter((m) => m.startsWith('rt-') || m.startsWith('at-'));
    await kit.service.revoke(ctx());
    const revocations = stub.requests
      .filter((r) => r.path === '/revoke')
      .map((r) => new URLSearchParams(r.body));
    expect(revocations.map((p) => p.get('token_type_hint'))).toEqual(['refresh_token', 'access_token']);
    expect(
      revocations.every((p) => stored.includes(p.get('token') ?? '') && p.get('client_id') !== null),
    ).toBe(true);
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
  });

  it('revoke: a failing revocation endpoint is logged, and the tokens are still deleted', async () => {
    await authorize();
    stub.route('/revoke', { status: 500, body: 'boom' });
    await kit.service.revoke(ctx());
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
    expect(kit.logLines.join('\n')).toContain('OAuth token revocation failed');
  });

  it('OA-21: a challenge scope asks for old + new scopes; after 2 step-ups a permanent error', async () => {
    await authorize();
    const stepUp = { ...ctx(), challenge: { scope: 'files:write' } };
    const one = await kit.service.initiate(stepUp);
    expect(new URL(one.authorizationUrl).searchParams.get('scope')).toBe('mcp:tools files:write');
    await kit.service.initiate(stepUp);
    let error: unknown;
    try {
      await kit.service.initiate(stepUp);
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_OAUTH_STEP_UP_LIMIT')).toBe(true);
    // A user without tokens is not stepping up: the challenge scope alone.
    const fresh = await kit.service.initiate({ ...ctx('bob'), challenge: { scope: 'files:write' } });
    expect(new URL(fresh.authorizationUrl).searchParams.get('scope')).toBe('files:write');
  });

  it('SE-02 / SE-03: a row copied to another user or tampered with reads as no tokens, with a warning', async () => {
    await authorize('alice');
    const aliceRow = (await kit.repos.credentials.listForUser('alice')).find(
      (r) => r.kind === 'oauth_tokens',
    );
    const full = await kit.repos.credentials.get({
      userId: 'alice',
      serverName: 'srv',
      kind: 'oauth_tokens',
      issuer: aliceRow?.issuer ?? '',
    });
    await kit.repos.credentials.put({
      userId: 'bob',
      serverName: 'srv',
      kind: 'oauth_tokens',
      issuer: full?.issuer ?? '',
      keyId: full?.keyId ?? '',
      ciphertext: full?.ciphertext ?? '',
    });
    expect(await kit.service.getAccessToken(ctx('bob'))).toBeNull();
    expect(await kit.service.authState(ctx('bob'))).toBe('none');
    expect(kit.logLines.join('\n')).toContain('credential_decrypt_failed');

    const ciphertext = full?.ciphertext ?? '';
    const last = ciphertext.at(-2) === 'A' ? 'B' : 'A';
    await kit.repos.credentials.put({
      userId: 'alice',
      serverName: 'srv',
      kind: 'oauth_tokens',
      issuer: full?.issuer ?? '',
      keyId: full?.keyId ?? '',
      ciphertext: `${ciphertext.slice(0, -2)}${last}${ciphertext.slice(-1)}`,
    });
    expect(await kit.service.getAccessToken(ctx('alice'))).toBeNull();
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
  });

  it('SE-01: the credentials table holds no token or code in clear', async () => {
    await authorize('alice');
    await authorize('bob');
    const rows = [
      ...(await kit.repos.credentials.listForUser('alice')),
      ...(await kit.repos.credentials.listForUser('bob')),
      ...(await kit.repos.credentials.listForUser('system')),
    ];
    const dump = JSON.stringify(await Promise.all(rows.map((r) => kit.repos.credentials.get({ ...r }))));
    expect(rows.length).toBe(3);
    for (const secret of as.minted) expect(dump).not.toContain(secret);
  });

  it('deleteTokens removes every issuer’s row for the user and server only', async () => {
    await authorize('alice');
    await authorize('bob');
    await kit.service.deleteTokens('alice', 'srv');
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
    expect(await kit.service.tokenMetadata('bob', 'srv')).not.toBeNull();
  });
});
