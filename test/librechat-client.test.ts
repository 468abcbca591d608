import axios, { type AxiosResponse } from 'axios';
import {
  dataService,
  request,
  setTokenHeader,
  type CancelMCPOAuthResponse,
  type MCPAuthValuesResponse,
  type MCPOAuthStatusResponse,
  type MCPReinitializeResponse,
  type TRefreshTokenResponse,
} from 'librechat-data-provider';
import { SignJWT } from 'jose';
import { pointLibreChatClientAt, resetLibreChatClient } from './support/librechat-client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';

const PUBLIC_URL = 'http://127.0.0.1:39998';
const JWT_SECRET = 'a-librechat-client-test-secret-of-enough-length';

/**
 * Every key a type may have, listed once; `Record<keyof T, true>` makes the list fail to compile
 * when the package adds or drops a key, so the runtime check below stays in step with the type.
 */
const keysOf = <T>(all: Record<keyof T, true>): string[] => Object.keys(all);

const REINITIALIZE_KEYS = keysOf<MCPReinitializeResponse>({
  success: true,
  message: true,
  serverName: true,
  oauthRequired: true,
  oauthUrl: true,
  flowId: true,
  oauthTimeout: true,
  failureReason: true,
  missingUserVars: true,
  connectionDeferred: true,
});
const STATUS_KEYS = keysOf<MCPOAuthStatusResponse>({
  status: true,
  completed: true,
  failed: true,
  error: true,
});

/** The answer carries no key its type does not know. */
function expectOnlyKeys(value: object, keys: string[]): void {
  expect(Object.keys(value).filter((k) => !keys.includes(k))).toEqual([]);
}

/**
 * LibreChat's own data layer (`librechat-data-provider`) driven in Node against a hub on a real port:
 * axios sends its bodiless POSTs with `Content-Type: application/json` and nothing after it.
 */
describe("LibreChat's client package against the hub", () => {
  let as: TestAuthorizationServer;
  let protectedMcp: ProtectedMcpServer;
  let probe: ProbeServer;
  let hub: TestHub;
  let hubUrl: string;
  let alice: string;
  let bob: string;
  /** Set-Cookie values the hub answered with, newest last: what a browser would keep. */
  const setCookies: string[] = [];
  let interceptor: number;

  const cookieHeader = (): string => setCookies.map((c) => c.split(';')[0]).join('; ');
  /** The package's answer for a request it rejected: the hub's status and body. */
  const rejection = async (pending: Promise<unknown>): Promise<{ status: number; data: unknown }> => {
    const err: unknown = await pending.then(
      () => null,
      (e: unknown) => e,
    );
    if (!axios.isAxiosError(err) || !err.response) throw new Error('expected an HTTP error answer');
    return { status: err.response.status, data: err.response.data };
  };

  beforeAll(async () => {
    as = await startAuthorizationServer();
    [protectedMcp, probe] = await Promise.all([startProtectedMcpServer(as), startProbeServer()]);
    hub = await startTestHub({
      env: { PUBLIC_URL, JWT_SECRET },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  plain:
    type: streamable-http
    url: ${probe.url}
  keyed:
    type: streamable-http
    url: ${probe.url}
    headers:
      X-Api-Key: "{{API_KEY}}"
    customUserVars:
      API_KEY:
        title: API key
        description: Your key for the probe
  secure:
    type: streamable-http
    url: ${protectedMcp.url}
    requiresOAuth: true
  gone:
    type: streamable-http
    url: http://127.0.0.1:1/mcp
    startup: false
`,
    });
    hubUrl = await pointLibreChatClientAt(hub.app);
    [alice, bob] = await Promise.all([hub.userToken('alice@example.com'), hub.userToken('bob@example.com')]);
    interceptor = axios.interceptors.response.use((res: AxiosResponse) => {
      const cookies: unknown = res.headers['set-cookie'];
      if (Array.isArray(cookies))
        setCookies.push(...cookies.filter((c): c is string => typeof c === 'string'));
      return res;
    });
  }, 60_000);

  afterAll(async () => {
    axios.interceptors.response.eject(interceptor);
    resetLibreChatClient();
    await hub?.dispose();
    await protectedMcp?.stop();
    await probe?.stop();
    await as?.stop();
  });

  describe('bodiless POSTs', () => {
    it('reinitialize sent as the package sends it (JSON content type, empty body) connects the server', async () => {
      setTokenHeader(alice);
      const answer: MCPReinitializeResponse = await dataService.reinitializeMCPServer('plain');
      expect(answer).toEqual({
        success: true,
        message: "MCP server 'plain' reinitialized successfully",
        oauthUrl: null,
        serverName: 'plain',
        oauthRequired: false,
      });
      expectOnlyKeys(answer, REINITIALIZE_KEYS);
      const status = await dataService.getMCPServerConnectionStatus('plain');
      expect(status.connectionStatus).toBe('connected');
    });

    it('a browser-style POST without a content type and a bodiless JSON POST both work; malformed JSON is still a 400', async () => {
      const post = (init: { headers?: Record<string, string>; body?: string }) =>
        fetch(`${hubUrl}/api/mcp/plain/reinitialize`, {
          method: 'POST',
          ...init,
          headers: { authorization: `Bearer ${alice}`, ...init.headers },
        });
      expect((await post({})).status).toBe(200);
      expect((await post({ headers: { 'content-type': 'application/json' }, body: '' })).status).toBe(200);
      const malformed = await post({ headers: { 'content-type': 'application/json' }, body: '{"x": <<' });
      expect(malformed.status).toBe(400);
      expect(await malformed.json()).toMatchObject({ code: 'HUB_ERR_MALFORMED_JSON' });
      // A route that needs a body still refuses an empty one, through its schema.
      const login = await fetch(`${hubUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '',
      });
      expect(login.status).toBe(400);
      expect(await login.json()).toMatchObject({ code: 'HUB_ERR_VALIDATION' });
    });

    it('an empty JSON POST to /mcp is still a JSON-RPC error, with and without a session', async () => {
      const headers = {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      };
      const noSession = await fetch(`${hubUrl}/mcp`, { method: 'POST', headers, body: '' });
      expect(noSession.status).toBe(400);
      expect(await noSession.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });

      const init = await fetch(`${hubUrl}/mcp`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        }),
      });
      expect(init.status).toBe(200);
      const sessionId = init.headers.get('mcp-session-id');
      expect(sessionId).toBeTruthy();
      await init.body?.cancel();
      const empty = await fetch(`${hubUrl}/mcp`, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sessionId ?? '' },
        body: '',
      });
      expect(empty.status).toBe(400);
      expect(await empty.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    });
  });

  describe('reinitialize answers in the package’s shape', () => {
    it('missing variables are a resolved answer with failureReason and missingUserVars, and the upstream sees nothing', async () => {
      setTokenHeader(bob);
      const before = probe.requests;
      const answer: MCPReinitializeResponse = await dataService.reinitializeMCPServer('keyed');
      expect(answer).toMatchObject({
        success: false,
        serverName: 'keyed',
        oauthRequired: false,
        oauthUrl: null,
        failureReason: 'missing_custom_user_vars',
        missingUserVars: ['API_KEY'],
      });
      expect(answer.message).toContain('API_KEY');
      expectOnlyKeys(answer, REINITIALIZE_KEYS);
      expect(probe.requests).toBe(before);
      const flags: MCPAuthValuesResponse = await dataService.getMCPAuthValues('keyed');
      expect(flags).toEqual({ success: true, serverName: 'keyed', authValueFlags: { API_KEY: false } });
    });

    it('an unreachable server is a resolved failure with failureReason unreachable', async () => {
      setTokenHeader(bob);
      const answer: MCPReinitializeResponse = await dataService.reinitializeMCPServer('gone');
      expect(answer).toEqual({
        success: false,
        message: "Failed to reinitialize MCP server 'gone'",
        oauthUrl: null,
        serverName: 'gone',
        oauthRequired: false,
        failureReason: 'unreachable',
      });
    });

    it('an unknown server is still a 404 the package rejects', async () => {
      setTokenHeader(bob);
      const { status, data } = await rejection(dataService.reinitializeMCPServer('nope'));
      expect(status).toBe(404);
      expect(data).toMatchObject({ code: 'HUB_ERR_SERVER_NOT_FOUND' });
    });
  });

  describe('OAuth through the package', () => {
    it('reinitialize starts the flow with flowId and oauthTimeout; bind, status and the callback complete it', async () => {
      setTokenHeader(alice);
      setCookies.length = 0;
      const started: MCPReinitializeResponse = await dataService.reinitializeMCPServer('secure');
      expect(started).toMatchObject({ success: true, oauthRequired: true, serverName: 'secure' });
      expectOnlyKeys(started, REINITIALIZE_KEYS);
      const aliceId = (await hub.identity.authenticate(alice)).userId;
      expect(started.flowId).toBe(`${aliceId}:secure`);
      expect(started.oauthTimeout).toBe(10 * 60_000);
      expect(started.oauthUrl).toContain(as.issuer);
      const flowId = started.flowId ?? '';

      const pending: MCPOAuthStatusResponse = await dataService.getMCPOAuthStatus(flowId);
      expect(pending).toEqual({ status: 'PENDING', completed: false, failed: false });
      expect('error' in pending).toBe(false);

      // The package's bind is bodiless too; it sets the browser's binding cookie again.
      setCookies.length = 0;
      const bound: { success: boolean } = await dataService.bindMCPOAuth('secure');
      expect(bound).toEqual({ success: true });
      expect(setCookies.some((c) => c.startsWith('sb_oauth_secure='))).toBe(true);

      const { callbackUrl } = await authorizeInBrowser(started.oauthUrl ?? '', {
        loginHint: 'alice',
        redirectUriPrefix: `${PUBLIC_URL}/api/mcp/secure/oauth/callback`,
      });
      const url = new URL(callbackUrl);
      const done = await fetch(`${hubUrl}${url.pathname}${url.search}`, {
        headers: { cookie: cookieHeader() },
        redirect: 'manual',
      });
      expect(done.headers.get('location')).toBe(`${PUBLIC_URL}/oauth/success?serverName=secure`);

      const completed: MCPOAuthStatusResponse = await dataService.getMCPOAuthStatus(flowId);
      expect(completed).toEqual({ status: 'COMPLETED', completed: true, failed: false });
      expectOnlyKeys(completed, STATUS_KEYS);
      const again: MCPReinitializeResponse = await dataService.reinitializeMCPServer('secure');
      expect(again).toMatchObject({ success: true, oauthRequired: false });
    });

    it('after a cancel the status answers FAILED with error cancelled, and the old authorization cannot complete', async () => {
      setTokenHeader(bob);
      setCookies.length = 0;
      const started: MCPReinitializeResponse = await dataService.reinitializeMCPServer('secure');
      const flowId = started.flowId ?? '';
      expect(flowId).toMatch(/:secure$/);
      const cancelled: CancelMCPOAuthResponse = await dataService.cancelMCPOAuth('secure');
      expect(cancelled).toEqual({ success: true, message: 'OAuth flow for secure cancelled successfully' });

      const status: MCPOAuthStatusResponse = await dataService.getMCPOAuthStatus(flowId);
      expect(status).toEqual({ status: 'FAILED', completed: false, failed: true, error: 'cancelled' });
      expectOnlyKeys(status, STATUS_KEYS);
      const twice: CancelMCPOAuthResponse = await dataService.cancelMCPOAuth('secure');
      expect(twice).toEqual({ success: true, message: 'No active OAuth flow to cancel' });

      // The browser finishing the cancelled attempt afterwards is refused and leaves it FAILED.
      const { callbackUrl } = await authorizeInBrowser(started.oauthUrl ?? '', {
        loginHint: 'bob',
        redirectUriPrefix: `${PUBLIC_URL}/api/mcp/secure/oauth/callback`,
      });
      const url = new URL(callbackUrl);
      const late = await fetch(`${hubUrl}${url.pathname}${url.search}`, {
        headers: { cookie: cookieHeader() },
        redirect: 'manual',
      });
      expect(late.headers.get('location')).toContain('/oauth/error');
      expect((await dataService.getMCPOAuthStatus(flowId)).status).toBe('FAILED');

      // Another user's flow stays theirs.
      setTokenHeader(alice);
      expect((await rejection(dataService.getMCPOAuthStatus(flowId))).status).toBe(403);
    });
  });

  describe('tools', () => {
    it('getMCPTools: every server the caller sees, in the package’s shape, with LibreChat’s plugin keys', async () => {
      setTokenHeader(alice);
      // The tools route never connects anything: connect first, as LibreChat's client does.
      await dataService.reinitializeMCPServer('plain');
      type ToolsAnswer = Awaited<ReturnType<typeof dataService.getMCPTools>>;
      const answer: ToolsAnswer = await dataService.getMCPTools();
      const plain = answer.servers.plain;
      expect(plain).toBeDefined();
      expect(plain?.name).toBe('plain');
      expect(typeof plain?.authenticated).toBe('boolean');
      expect(Array.isArray(plain?.authConfig)).toBe(true);
      const echo = plain?.tools.find((t) => t.name === 'echo');
      expect(echo?.pluginKey).toBe('echo_mcp_plain');
      expect(typeof echo?.description).toBe('string');
      // A server that needs the caller's variables says so, and names the variable to set.
      const keyed = Object.values(answer.servers).find((s) => s.authConfig.length > 0);
      expect(keyed?.authConfig[0]?.authField).toEqual(expect.any(String));
    });
  });

  describe('POST /api/auth/refresh', () => {
    it('a valid hub token gets a fresh one for the same account, which then works', async () => {
      setTokenHeader(alice);
      const answer = (await request.refreshToken()) as TRefreshTokenResponse & { expiresIn: number };
      expect(typeof answer.token).toBe('string');
      expect(answer.token).not.toBe(alice);
      expect(answer.expiresIn).toBeGreaterThan(0);
      expect(answer.user).toMatchObject({ email: 'alice@example.com', role: 'USER' });
      const who = await hub.identity.authenticate(answer.token);
      expect(who.email).toBe('alice@example.com');
      setTokenHeader(answer.token);
      const status = await dataService.getMCPConnectionStatus();
      expect(status.success).toBe(true);
      // LibreChat's client asks with ?retry=true on its second try.
      expect((await request.refreshToken(true))?.token).toBeTruthy();
    });

    it('a token LibreChat itself issued is not traded for a hub token: 403, renewed where it came from', async () => {
      const librechatToken = await new SignJWT({ id: 'librechat-user-7', email: 'lc7@example.com' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(JWT_SECRET));
      setTokenHeader(librechatToken);
      // The same token works for everything else.
      expect((await dataService.getMCPConnectionStatus()).success).toBe(true);
      const { status, data } = await rejection(request.refreshToken());
      expect(status).toBe(403);
      expect(data).toMatchObject({ code: 'HUB_ERR_FORBIDDEN' });
      expect(JSON.stringify(data)).not.toContain(librechatToken);
    });

    it('without a valid token it is a 401, so the client goes to its login', async () => {
      setTokenHeader('not-a-token');
      expect((await rejection(request.refreshToken())).status).toBe(401);
      setTokenHeader(undefined);
      expect((await rejection(request.refreshToken())).status).toBe(401);
    });
  });
});
