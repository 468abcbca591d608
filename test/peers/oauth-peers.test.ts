import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  extractWWWAuthenticateParams,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InvalidGrantError, InvalidTargetError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
import type {
  AuthorizationServerMetadata,
  OAuthClientInformationFull,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser, type CookieJar } from './headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './oauth-as.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './protected-mcp.js';

const ACCESS_TTL_SECONDS = 2;
/** The hub's callback shape; nothing listens there (the browser stops before it). */
const REDIRECT_URI = 'http://127.0.0.1:9/api/mcp/protected/oauth/callback';

let as: TestAuthorizationServer;
let mcp: ProtectedMcpServer;
let metadata: AuthorizationServerMetadata;
/** Every token, code and secret the tests saw, to compare with `mintedTokens()`. */
const seen = new Set<string>();
/** What the tests did at the AS, to compare with `counts`. */
const expected = {
  registrations: 0,
  authorizationCodeGrants: 0,
  refreshTokenGrants: 0,
  revocations: 0,
  failedGrants: 0,
};

beforeAll(async () => {
  as = await startAuthorizationServer({ accessTokenTtlSeconds: ACCESS_TTL_SECONDS });
  mcp = await startProtectedMcpServer(as); // sets the AS's resource (audience) to mcp.url
  const discovered = await discoverAuthorizationServerMetadata(as.issuer);
  if (discovered === undefined) throw new Error('no authorization server metadata');
  metadata = discovered;
});

afterAll(async () => {
  await mcp?.stop();
  await as?.stop();
});

async function register(extra: Partial<OAuthClientMetadata> = {}): Promise<OAuthClientInformationFull> {
  // application_type is OIDC registration metadata, not in the SDK's RFC 7591 type.
  const clientMetadata: OAuthClientMetadata & { application_type: string } = {
    application_type: 'web',
    client_name: 'switchboard-peers-test',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  };
  const client = await registerClient(as.issuer, { metadata, clientMetadata, scope: 'mcp:tools' });
  expected.registrations += 1;
  if (client.client_secret !== undefined) seen.add(client.client_secret);
  return client;
}

interface Authorized {
  readonly tokens: OAuthTokens;
  readonly callback: URL;
  readonly jar: CookieJar;
  readonly visited: readonly string[];
}

/** Authorization code flow with PKCE and the resource indicator, the browser part headless. */
async function authorize(
  client: OAuthClientInformationFull,
  loginHint: string,
  jar?: CookieJar,
): Promise<Authorized> {
  const state = crypto.randomUUID();
  const { authorizationUrl, codeVerifier } = await startAuthorization(as.issuer, {
    metadata,
    clientInformation: client,
    redirectUrl: REDIRECT_URI,
    scope: 'mcp:tools',
    state,
    resource: mcp.url,
  });
  const browser = await authorizeInBrowser(authorizationUrl.href, {
    loginHint,
    redirectUriPrefix: REDIRECT_URI,
    ...(jar === undefined ? {} : { jar }),
  });
  const callback = new URL(browser.callbackUrl);
  expect(callback.searchParams.get('state')).toBe(state);
  expect(callback.searchParams.get('iss')).toBe(as.issuer); // RFC 9207
  const code = callback.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${callback.search}`);
  seen.add(code);
  const tokens = await exchangeAuthorization(as.issuer, {
    metadata,
    clientInformation: client,
    authorizationCode: code,
    codeVerifier,
    redirectUri: REDIRECT_URI,
    resource: new URL(mcp.url),
  });
  expected.authorizationCodeGrants += 1;
  remember(tokens);
  return { tokens, callback, jar: browser.jar, visited: browser.visited };
}

async function refresh(client: OAuthClientInformationFull, refreshToken: string): Promise<OAuthTokens> {
  try {
    const tokens = await refreshAuthorization(as.issuer, {
      metadata,
      clientInformation: client,
      refreshToken,
      resource: new URL(mcp.url),
    });
    expected.refreshTokenGrants += 1;
    remember(tokens);
    return tokens;
  } catch (error) {
    expected.failedGrants += 1;
    throw error;
  }
}

function remember(tokens: OAuthTokens): void {
  seen.add(tokens.access_token);
  if (tokens.refresh_token !== undefined) seen.add(tokens.refresh_token);
}

async function callTool(
  accessToken: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<string> {
  const transport = new StreamableHTTPClientTransport(new URL(mcp.url), {
    requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
  });
  const client = new Client({ name: 'oauth-peers-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  } finally {
    await client.close();
  }
}

function mcpRequest(headers: Record<string, string> = {}, url = mcp.url): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

async function revoke(client: OAuthClientInformationFull, token: string): Promise<Response> {
  // AuthorizationServerMetadata is RFC 8414 or OpenID discovery; only the former types this field.
  const endpoint = 'revocation_endpoint' in metadata ? metadata.revocation_endpoint : undefined;
  if (typeof endpoint !== 'string') throw new Error('no revocation endpoint');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: client.client_id }),
  });
  if (response.status === 200) expected.revocations += 1;
  return response;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('OAuth test peers (oidc-provider AS, protected MCP server, headless browser)', () => {
  it('answers an unauthenticated request 401 with an RFC 9728 challenge, a bad token with invalid_token', async () => {
    const before = mcp.unauthorized;
    const anonymous = await mcpRequest();
    expect(anonymous.status).toBe(401);
    const challenge = extractWWWAuthenticateParams(anonymous);
    expect(challenge.resourceMetadataUrl?.href).toBe(mcp.resourceMetadataUrl);
    expect(challenge.scope).toBe('mcp:tools');
    expect(challenge.error).toBeUndefined();

    const forged = await mcpRequest({ authorization: 'Bearer not.a.jwt' });
    expect(forged.status).toBe(401);
    expect(extractWWWAuthenticateParams(forged).error).toBe('invalid_token');
    expect(mcp.lastBearer()).toBe('not.a.jwt');
    expect(mcp.unauthorized - before).toBe(2);
  });

  it('discovery: the protected resource names the AS, whose metadata has what an MCP client needs', async () => {
    const resource = await discoverOAuthProtectedResourceMetadata(mcp.url);
    expect(resource).toMatchObject({
      resource: mcp.url,
      authorization_servers: [as.issuer],
      scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'],
    });
    expect(as.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metadata).toMatchObject({
      issuer: as.issuer,
      registration_endpoint: `${as.issuer}/reg`,
      revocation_endpoint: `${as.issuer}/token/revocation`,
      jwks_uri: as.jwksUri,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(['none', 'client_secret_basic', 'client_secret_post']),
    );
    // Both well-known documents are served (RFC 8414 and OpenID discovery).
    const oidc = await fetch(`${as.issuer}/.well-known/openid-configuration`);
    expect(((await oidc.json()) as { issuer?: string }).issuer).toBe(as.issuer);
  });

  it('registers a public web client with a loopback http redirect URI', async () => {
    const client = await register();
    expect(client.client_id).toBeTruthy();
    expect(client.client_secret).toBeUndefined();
    expect(client.redirect_uris).toEqual([REDIRECT_URI]);
    expect(client.token_endpoint_auth_method).toBe('none');
  });

  it('alice and bob authorize headlessly and each whoami answers their own subject', async () => {
    const client = await register();
    const alice = await authorize(client, 'alice');
    expect(alice.callback.href.startsWith(`${REDIRECT_URI}?`)).toBe(true);
    const claims = decodeJwt(alice.tokens.access_token);
    expect(decodeProtectedHeader(alice.tokens.access_token).typ).toBe('at+jwt');
    expect(claims).toMatchObject({ iss: as.issuer, aud: mcp.url, sub: 'alice', scope: 'mcp:tools' });
    expect(claims.client_id).toBe(client.client_id);
    expect(alice.tokens.token_type.toLowerCase()).toBe('bearer');
    expect(alice.tokens.expires_in).toBe(ACCESS_TTL_SECONDS);
    expect(alice.tokens.refresh_token).toBeTruthy();

    expect(await callTool(alice.tokens.access_token, 'whoami')).toBe('alice');
    expect(await callTool(alice.tokens.access_token, 'echo', { message: 'hi' })).toBe('Echo: hi');
    expect(mcp.lastBearer()).toBe(alice.tokens.access_token);

    const bob = await authorize(client, 'bob');
    expect(decodeJwt(bob.tokens.access_token).sub).toBe('bob');
    expect(await callTool(bob.tokens.access_token, 'whoami')).toBe('bob');
  });

  it("reuses the browser's AS session, and logs in again when login_hint names someone else", async () => {
    const client = await register();
    const first = await authorize(client, 'alice');
    expect(first.visited.map((hop) => hop.replace(/\/[\w-]{20,}$/, '/<uid>'))).toEqual([
      'GET /auth',
      'GET /interaction/<uid>', // login
      'GET /auth/<uid>',
      'GET /interaction/<uid>', // consent
      'GET /auth/<uid>',
    ]);
    expect(first.jar.header(as.issuer)).toMatch(/_session=/);

    const again = await authorize(client, 'alice', first.jar);
    expect(again.visited).toEqual(['GET /auth']); // logged in and consented already
    expect(decodeJwt(again.tokens.access_token).sub).toBe('alice');

    // Another account in the same browser: the AS ends alice's session through an auto-submitted form.
    const switched = await authorize(client, 'bob', first.jar);
    expect(switched.visited).toContain('POST /session/end/confirm');
    expect(decodeJwt(switched.tokens.access_token).sub).toBe('bob');
  });

  it('refresh rotates the refresh token; replaying the old one fails and ends the whole grant', async () => {
    const client = await register();
    const { tokens } = await authorize(client, 'alice');
    const original = tokens.refresh_token!;

    const rotated = await refresh(client, original);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(original);
    expect(decodeJwt(rotated.access_token)).toMatchObject({ sub: 'alice', aud: mcp.url });
    expect(await callTool(rotated.access_token, 'whoami')).toBe('alice');

    await expect(refresh(client, original)).rejects.toBeInstanceOf(InvalidGrantError);
    // oidc-provider treats reuse as theft: the grant is revoked, the rotated token with it.
    await expect(refresh(client, rotated.refresh_token!)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  it('two concurrent refreshes with one refresh token: one wins, and the grant dies with the loser', async () => {
    const client = await register();
    const { tokens } = await authorize(client, 'alice');
    const results = await Promise.allSettled([
      refresh(client, tokens.refresh_token!),
      refresh(client, tokens.refresh_token!),
    ]);
    const winners = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    expect(winners).toHaveLength(1);
    // What a client without a refresh lock suffers: even the winner's rotated token is dead.
    await expect(refresh(client, winners[0]!.refresh_token!)).rejects.toBeInstanceOf(InvalidGrantError);
  });

  it('after the access token expires the server answers 401 invalid_token; a refreshed token works', async () => {
    const client = await register();
    const { tokens } = await authorize(client, 'bob');
    expect(await callTool(tokens.access_token, 'whoami')).toBe('bob');

    await delay(ACCESS_TTL_SECONDS * 1000 + 1000);
    const expired = await mcpRequest({ authorization: `Bearer ${tokens.access_token}` });
    expect(expired.status).toBe(401);
    const challenge = extractWWWAuthenticateParams(expired);
    expect(challenge.error).toBe('invalid_token');
    expect(challenge.resourceMetadataUrl?.href).toBe(mcp.resourceMetadataUrl);

    const renewed = await refresh(client, tokens.refresh_token!);
    expect(await callTool(renewed.access_token, 'whoami')).toBe('bob');
  });

  it('revoking the refresh token ends it (JWT access tokens cannot be revoked)', async () => {
    const client = await register();
    const { tokens } = await authorize(client, 'alice');
    const revoked = await revoke(client, tokens.refresh_token!);
    expect(revoked.status).toBe(200);
    await expect(refresh(client, tokens.refresh_token!)).rejects.toBeInstanceOf(InvalidGrantError);

    const structured = await revoke(client, tokens.access_token);
    expect(structured.status).toBe(400);
    expect(((await structured.json()) as { error?: string }).error).toBe('unsupported_token_type');
  });

  it.each(['client_secret_basic', 'client_secret_post'])(
    'a confidential client (%s) registers, authorizes and refreshes',
    async (method) => {
      const client = await register({ token_endpoint_auth_method: method });
      expect(client.client_secret).toBeTruthy();
      const { tokens } = await authorize(client, 'alice');
      const renewed = await refresh(client, tokens.refresh_token!);
      expect(await callTool(renewed.access_token, 'whoami')).toBe('alice');
    },
  );

  it('requires PKCE and a scope: without them the flow ends at the redirect URI with an error', async () => {
    const client = await register();
    const withoutPkce = new URL(metadata.authorization_endpoint);
    withoutPkce.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope: 'mcp:tools',
      state: 'st-0',
    }).toString();
    const refusedPkce = await authorizeInBrowser(withoutPkce.href, {
      loginHint: 'alice',
      redirectUriPrefix: REDIRECT_URI,
    });
    expect(new URL(refusedPkce.callbackUrl).searchParams.get('error')).toBe('invalid_request');

    const { authorizationUrl } = await startAuthorization(as.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      state: 'st-0',
      resource: mcp.url,
    });
    const noScope = await authorizeInBrowser(authorizationUrl.href, {
      loginHint: 'alice',
      redirectUriPrefix: REDIRECT_URI,
    });
    // oidc-provider refuses to end an authorization that grants nothing.
    expect(new URL(noScope.callbackUrl).searchParams.get('error')).toBe('access_denied');
  });

  it('ends the flow at the redirect URI with access_denied for an unknown account', async () => {
    const client = await register();
    const { authorizationUrl } = await startAuthorization(as.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'mcp:tools',
      state: 'st-1',
      resource: mcp.url,
    });
    const { callbackUrl } = await authorizeInBrowser(authorizationUrl.href, {
      loginHint: 'mallory',
      redirectUriPrefix: REDIRECT_URI,
    });
    const callback = new URL(callbackUrl);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('st-1');
    expect(callback.searchParams.get('iss')).toBe(as.issuer);
    expect(callback.searchParams.has('code')).toBe(false);
  });

  it('refuses a resource indicator it does not protect, and a token request for another resource', async () => {
    const client = await register();
    const { authorizationUrl } = await startAuthorization(as.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'mcp:tools',
      state: 'st-2',
      resource: 'http://127.0.0.1:1/elsewhere',
    });
    const { callbackUrl } = await authorizeInBrowser(authorizationUrl.href, {
      loginHint: 'alice',
      redirectUriPrefix: REDIRECT_URI,
    });
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('invalid_target');

    const { tokens } = await authorize(client, 'alice');
    expected.failedGrants += 1;
    await expect(
      refreshAuthorization(as.issuer, {
        metadata,
        clientInformation: client,
        refreshToken: tokens.refresh_token!,
        resource: new URL('http://127.0.0.1:1/elsewhere'),
      }),
    ).rejects.toBeInstanceOf(InvalidTargetError);
  });

  it('counts what happened and lists every token it minted', () => {
    expect({ ...as.counts }).toEqual(expected);
    const minted = new Set(as.mintedTokens());
    for (const token of seen) expect(minted.has(token)).toBe(true);
    // Codes, access and refresh tokens, client secrets: nothing seen here is missing, and the
    // list holds at least one code and one access token per authorization.
    expect(minted.size).toBeGreaterThanOrEqual(seen.size);
  });

  it('stops cleanly: both ports refuse connections afterwards', async () => {
    const peerAs = await startAuthorizationServer();
    const peerMcp = await startProtectedMcpServer(peerAs);
    const asPort = Number(new URL(peerAs.issuer).port);
    const mcpPort = Number(new URL(peerMcp.url).port);
    expect((await mcpRequest({}, peerMcp.url)).status).toBe(401);
    await peerMcp.stop();
    await peerAs.stop();
    expect(await refused(asPort)).toBe(true);
    expect(await refused(mcpPort)).toBe(true);
  });
});
