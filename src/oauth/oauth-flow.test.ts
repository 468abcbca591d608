/**
 * The OAuth client against real peers: oidc-provider (DCR, PKCE, resource indicators, rotating
 * refresh tokens, RFC 9207 `iss`), an MCP server that verifies its JWTs, and a headless browser that
 * follows the AS's redirect chain. The hub's clock is moved by hand to make tokens stale.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { authorizeInBrowser, type CookieJar } from '../../test/peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from '../../test/peers/oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from '../../test/peers/protected-mcp.js';
import { createRedisKv } from '../kv/index.js';
import { challengeFromResponse } from './challenge.js';
import { makeServiceKit, serverConfig, type ServiceKit } from './oauth-test-kit.js';
import type { CallbackInput, CallbackResult, OAuthChallenge } from './types.js';

const ACCESS_TTL_SECONDS = 300;
const REDIRECT_BASE = 'http://127.0.0.1:9';
const SERVER = 'protected';

let as: TestAuthorizationServer;
let mcp: ProtectedMcpServer;
let challenge: OAuthChallenge;
const kits: ServiceKit[] = [];
let kit: ServiceKit;

async function newKit(options: Parameters<typeof makeServiceKit>[0] = {}): Promise<ServiceKit> {
  const made = await makeServiceKit({ redirectBase: REDIRECT_BASE, ...options });
  kits.push(made);
  return made;
}

const ctx = (userId: string, extra: Record<string, unknown> = {}) => ({
  userId,
  serverName: SERVER,
  serverUrl: mcp.url,
  config: serverConfig(mcp.url, extra),
});

/** Initiates for `userId` and walks the AS as `login`; returns the callback's query. */
async function browse(
  on: ServiceKit,
  userId: string,
  login: string,
  jar?: CookieJar,
  extra: Record<string, unknown> = {},
): Promise<{ params: URLSearchParams; state: string; jar: CookieJar; authorizationUrl: string }> {
  const flow = await on.service.initiate({ ...ctx(userId, extra), challenge });
  const result = await authorizeInBrowser(flow.authorizationUrl, {
    loginHint: login,
    redirectUriPrefix: `${REDIRECT_BASE}/api/mcp/${SERVER}/oauth/callback`,
    ...(jar === undefined ? {} : { jar }),
  });
  return {
    params: new URL(result.callbackUrl).searchParams,
    state: flow.state,
    jar: result.jar,
    authorizationUrl: flow.authorizationUrl,
  };
}

function deliver(
  on: ServiceKit,
  params: URLSearchParams,
  extra: Partial<CallbackInput> = {},
): Promise<CallbackResult> {
  const optional = (name: string) => params.get(name) ?? undefined;
  return on.service.completeCallback({
    serverName: SERVER,
    code: optional('code'),
    state: optional('state'),
    error: optional('error'),
    iss: optional('iss'),
    isBound: () => true,
    ...extra,
  });
}

async function whoami(on: ServiceKit, userId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const client = new Client({ name: 'oauth-flow-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
    fetch: on.service.authorizedFetch((url, init) => fetch(url, init), ctx(userId, extra)),
  });
  await client.connect(transport);
  try {
    const result = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
    const first = result.content[0];
    return first?.type === 'text' ? first.text : '';
  } finally {
    await client.close();
  }
}

/** The user's stored refresh token, opened the way the hub seals it (tests only). */
async function storedRefreshToken(on: ServiceKit, userId: string): Promise<string> {
  const row = await on.repos.credentials.get({
    userId,
    serverName: SERVER,
    kind: 'oauth_tokens',
    issuer: as.issuer,
  });
  if (!row) throw new Error('no token row');
  const plain = JSON.parse(
    on.keyring.decrypt(row.ciphertext, `oauth_tokens|${userId}|${SERVER}|${as.issuer}`),
  ) as {
    refresh_token?: string;
  };
  return plain.refresh_token ?? '';
}

/** The hub's registered client id at the test AS (tests only). */
async function registeredClientId(on: ServiceKit): Promise<string> {
  const row = await on.repos.credentials.get({
    userId: 'system',
    serverName: SERVER,
    kind: 'oauth_client',
    issuer: as.issuer,
  });
  if (!row) throw new Error('no client row');
  return (
    JSON.parse(on.keyring.decrypt(row.ciphertext, `oauth_client|${SERVER}|${as.issuer}`)) as {
      client_id: string;
    }
  ).client_id;
}

beforeAll(async () => {
  as = await startAuthorizationServer({ accessTokenTtlSeconds: ACCESS_TTL_SECONDS });
  mcp = await startProtectedMcpServer(as);
  // The hub learns about OAuth from the server's 401, as the connection layer will.
  const unauthenticated = await fetch(mcp.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: '{}',
  });
  expect(unauthenticated.status).toBe(401);
  challenge = challengeFromResponse(unauthenticated);
  kit = await newKit();
});

afterAll(async () => {
  for (const made of kits) await made.close();
  await mcp?.stop();
  await as?.stop();
});

describe('OAuth flow against oidc-provider and a protected MCP server', () => {
  it('discovers the real AS: PRM from the challenge, iss supported, S256, revocation', async () => {
    expect(challenge.resourceMetadataUrl).toBe(mcp.resourceMetadataUrl);
    const found = await kit.service.discover({ ...ctx('alice'), challenge });
    expect(found.resource).toBe(mcp.url);
    expect(found.authorizationServer).toMatchObject({
      issuer: as.issuer,
      issParameterSupported: true,
      issuerMatch: 'exact',
    });
    expect(found.authorizationServer.codeChallengeMethodsSupported).toContain('S256');
    expect(found.authorizationServer.revocationEndpoint).toBeDefined();
  });

  it('alice and bob each authorize and each whoami answers with their own subject and token', async () => {
    const alice = await browse(kit, 'alice', 'alice');
    expect(await deliver(kit, alice.params)).toMatchObject({ ok: true, userId: 'alice' });
    const bob = await browse(kit, 'bob', 'bob');
    expect(await deliver(kit, bob.params)).toMatchObject({ ok: true, userId: 'bob' });

    expect(await whoami(kit, 'alice')).toBe('alice');
    const aliceBearer = mcp.lastBearer();
    expect(await whoami(kit, 'bob')).toBe('bob');
    expect(mcp.lastBearer()).not.toBe(aliceBearer);
    expect(await kit.service.authState(ctx('alice'))).toBe('authorized');
    // One registration (per server and AS) serves every user.
    expect(as.counts.registrations).toBe(1);
  });

  it('OA-05: a replayed state → invalid_state, and the AS saw exactly one code grant', async () => {
    const run = await browse(kit, 'u-replay', 'alice');
    const grants = as.counts.authorizationCodeGrants;
    expect((await deliver(kit, run.params)).ok).toBe(true);
    expect(await deliver(kit, run.params)).toEqual({ ok: false, error: 'invalid_state' });
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
  });

  it('LD-02: 50 concurrent completions with one state → one token request at the AS', async () => {
    const run = await browse(kit, 'u-race', 'bob');
    const grants = as.counts.authorizationCodeGrants;
    const failed = as.counts.failedGrants;
    const results = await Promise.all(Array.from({ length: 50 }, () => deliver(kit, run.params)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(as.counts.authorizationCodeGrants).toBe(grants + 1);
    expect(as.counts.failedGrants).toBe(failed);
  });

  it('OA-03/04: bob’s browser completing alice’s authorization → csrf_validation_failed, no tokens anywhere', async () => {
    const run = await browse(kit, 'u-victim', 'bob');
    const grants = as.counts.authorizationCodeGrants;
    const result = await deliver(kit, run.params, { isBound: () => false });
    expect(result).toEqual({ ok: false, error: 'csrf_validation_failed' });
    expect(as.counts.authorizationCodeGrants).toBe(grants);
    expect(await kit.service.flowStatus(`u-victim:${SERVER}`)).toEqual({ status: 'PENDING', error: null });
    expect(await kit.repos.credentials.listForUser('u-victim')).toEqual([]);
  });

  it('OA-06: an AS error delivered without the binding leaves the flow pending', async () => {
    // The test AS ends the flow with access_denied for an unknown account.
    const run = await browse(kit, 'u-denied', 'mallory');
    expect(run.params.get('error')).toBe('access_denied');
    expect(await deliver(kit, run.params, { isBound: () => false })).toEqual({
      ok: false,
      error: 'csrf_validation_failed',
    });
    expect(await kit.service.flowStatus(`u-denied:${SERVER}`)).toEqual({ status: 'PENDING', error: null });
    expect(await deliver(kit, run.params)).toEqual({ ok: false, error: 'access_denied' });
    expect(await kit.service.flowStatus(`u-denied:${SERVER}`)).toEqual({
      status: 'FAILED',
      error: 'access_denied',
    });
  });

  it('OA-09/10: a missing or foreign iss is refused before the token request', async () => {
    const grants = as.counts.authorizationCodeGrants;
    const missing = await browse(kit, 'u-iss1', 'alice');
    missing.params.delete('iss');
    expect(await deliver(kit, missing.params)).toEqual({ ok: false, error: 'callback_failed' });
    const foreign = await browse(kit, 'u-iss2', 'alice');
    foreign.params.set('iss', 'https://evil.example');
    expect(await deliver(kit, foreign.params)).toEqual({ ok: false, error: 'callback_failed' });
    expect(as.counts.authorizationCodeGrants).toBe(grants);
  });

  it('refresh after expiry rotates the refresh token, and 20 concurrent callers cause one refresh (LD-04)', async () => {
    const run = await browse(kit, 'u-refresh', 'alice');
    expect((await deliver(kit, run.params)).ok).toBe(true);
    const before = await kit.service.getAccessToken(ctx('u-refresh'));
    const firstRefresh = await storedRefreshToken(kit, 'u-refresh');
    const grants = as.counts.refreshTokenGrants;

    kit.advance(ACCESS_TTL_SECONDS * 1000 + 1);
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => kit.service.getAccessToken(ctx('u-refresh'))),
    );
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(before);
    expect(as.counts.refreshTokenGrants).toBe(grants + 1);
    expect(await storedRefreshToken(kit, 'u-refresh')).not.toBe(firstRefresh);
    expect(await whoami(kit, 'u-refresh')).toBe('alice');

    // A second expiry works too: the rotated token was stored, the used one is never presented again.
    kit.advance(ACCESS_TTL_SECONDS * 1000 + 1);
    expect(await kit.service.getAccessToken(ctx('u-refresh'))).not.toBe(tokens[0]);
    expect(as.counts.refreshTokenGrants).toBe(grants + 2);
  });

  it('send_resource_parameter: false and audience: the real AS still issues tokens for the server, before and after a refresh', async () => {
    const forms: URLSearchParams[] = [];
    const recorded = await newKit({
      fetch: (url, init) => {
        if (init?.body instanceof URLSearchParams) forms.push(new URLSearchParams(init.body));
        return fetch(url, init);
      },
    });
    const extra = { oauth: { send_resource_parameter: false, audience: 'urn:test:api' } };
    const run = await browse(recorded, 'u-options', 'bob', undefined, extra);
    const authorization = new URL(run.authorizationUrl).searchParams;
    expect(authorization.has('resource')).toBe(false);
    expect(authorization.get('audience')).toBe('urn:test:api');
    expect((await deliver(recorded, run.params)).ok).toBe(true);
    // The AS fell back to its default resource, which is the one the hub recorded and binds to.
    expect(await whoami(recorded, 'u-options', extra)).toBe('bob');

    recorded.advance(ACCESS_TTL_SECONDS * 1000 + 1);
    expect(await whoami(recorded, 'u-options', extra)).toBe('bob');
    const grants = forms.map((form) => form.get('grant_type'));
    expect(grants).toEqual(['authorization_code', 'refresh_token']);
    expect(forms.map((form) => form.has('resource'))).toEqual([false, false]);
    expect(forms.map((form) => form.get('audience'))).toEqual([null, 'urn:test:api']);
  });

  it('OA-20: a refresh token redeemed elsewhere → invalid_grant → needs_auth after exactly one attempt', async () => {
    const run = await browse(kit, 'u-stolen', 'bob');
    expect((await deliver(kit, run.params)).ok).toBe(true);
    const found = await kit.service.discover(ctx('u-stolen'));
    // Someone else redeems (and so rotates away) the hub's refresh token.
    await refreshAuthorization(as.issuer, {
      clientInformation: { client_id: await registeredClientId(kit) },
      refreshToken: await storedRefreshToken(kit, 'u-stolen'),
      resource: found.resource,
    });

    const failed = as.counts.failedGrants;
    kit.advance(ACCESS_TTL_SECONDS * 1000 + 1);
    expect(await kit.service.getAccessToken(ctx('u-stolen'))).toBeNull();
    expect(await kit.service.getAccessToken(ctx('u-stolen'))).toBeNull();
    expect(as.counts.failedGrants).toBe(failed + 1);
    expect(await kit.service.authState(ctx('u-stolen'))).toBe('needs_auth');
  });

  it('revoke calls the revocation endpoint and deletes the tokens', async () => {
    const run = await browse(kit, 'u-revoke', 'alice');
    expect((await deliver(kit, run.params)).ok).toBe(true);
    const refreshToken = await storedRefreshToken(kit, 'u-revoke');
    const found = await kit.service.discover(ctx('u-revoke'));
    const revocations = as.counts.revocations;
    await kit.service.revoke(ctx('u-revoke'));
    // The refresh token is revoked (200); this AS refuses to revoke its JWT access tokens
    // (RFC 7009 §2.2.1 unsupported_token_type), which the hub logs and moves past.
    expect(as.counts.revocations).toBe(revocations + 1);
    expect(kit.logLines.some((l) => l.includes('"hint":"access_token"') && l.includes('"status":400'))).toBe(
      true,
    );
    expect(await kit.service.tokenMetadata('u-revoke', SERVER)).toBeNull();
    expect(await kit.service.getAccessToken(ctx('u-revoke'))).toBeNull();
    await expect(
      refreshAuthorization(as.issuer, {
        clientInformation: { client_id: await registeredClientId(kit) },
        refreshToken,
        resource: found.resource,
      }),
    ).rejects.toThrow();
  });

  it('LD-05: two instances over one Redis and one SQLite database → one refresh at the AS', async ({
    skip,
  }) => {
    const redisUrl = inject('redisUrl');
    if (redisUrl === '') skip();
    const keyPrefix = `sb-test:oauth-flow:${randomUUID()}:`;
    const sqlitePath = path.join(mkdtempSync(path.join(os.tmpdir(), 'sb-oauth-ld05-')), 'hub.db');
    const one = await newKit({ kv: createRedisKv({ url: redisUrl, keyPrefix }), sqlitePath });
    const two = await newKit({ kv: createRedisKv({ url: redisUrl, keyPrefix }), sqlitePath });
    try {
      // Initiated on one instance, completed on the other (FT-07).
      const run = await browse(one, 'u-cluster', 'bob');
      expect((await deliver(two, run.params)).ok).toBe(true);
      expect(await whoami(one, 'u-cluster')).toBe('bob');

      const grants = as.counts.refreshTokenGrants;
      const failed = as.counts.failedGrants;
      one.advance(ACCESS_TTL_SECONDS * 1000 + 1);
      two.advance(ACCESS_TTL_SECONDS * 1000 + 1);
      const tokens = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? one : two).service.getAccessToken(ctx('u-cluster')),
        ),
      );
      expect(new Set(tokens).size).toBe(1);
      expect(tokens[0]).toBeTruthy();
      expect(as.counts.refreshTokenGrants).toBe(grants + 1);
      expect(as.counts.failedGrants).toBe(failed);
      expect(await whoami(two, 'u-cluster')).toBe('bob');
    } finally {
      await one.kv.close();
      await two.kv.close();
    }
  });

  it('SE-01 / SE-05: no minted secret appears in any log line or in the credentials table in clear', async () => {
    const minted = as.mintedTokens();
    expect(minted.length).toBeGreaterThan(10);
    const logs = kits.flatMap((k) => k.logLines).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    const users = [
      'alice',
      'bob',
      'system',
      'u-replay',
      'u-race',
      'u-refresh',
      'u-stolen',
      'u-revoke',
      'u-cluster',
    ];
    const rows: string[] = [];
    for (const k of kits) {
      for (const user of users) {
        for (const meta of await k.repos.credentials.listForUser(user)) {
          rows.push(JSON.stringify(await k.repos.credentials.get(meta)));
        }
      }
    }
    expect(rows.length).toBeGreaterThan(3);
    const table = rows.join('\n');
    for (const secret of minted) {
      expect(logs.includes(secret), 'a minted secret is in the logs').toBe(false);
      expect(table.includes(secret), 'a minted secret is in the table').toBe(false);
    }
  });
});
