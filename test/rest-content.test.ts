import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/index.js';
import { authorizeInBrowser } from './peers/headless-browser.js';
import { startAuthorizationServer, type TestAuthorizationServer } from './peers/oauth-as.js';
import { everythingStdioCommand, startEverything, type RunningEverything } from './peers/everything.js';
import { pagedContentCommand } from './peers/paged-content.js';
import { probeStdioCommand } from './peers/probe-stdio.js';
import { startProtectedMcpServer, type ProtectedMcpServer } from './peers/protected-mcp.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { freePort } from './support/mcp-helpers.js';

/** A JSON answer: status and parsed body. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('REST resources, prompts, completions and logging (issue 16)', () => {
  let hub: TestHub;
  let everythingHttp: RunningEverything;
  let base: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    everythingHttp = await startEverything('streamableHttp');
    const everything = everythingStdioCommand();
    const paged = pagedContentCommand();
    const toolsOnly = probeStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  everything:
    command: ${JSON.stringify(everything.command)}
    args: ${JSON.stringify(everything.args)}
  paged:
    command: ${JSON.stringify(paged.command)}
    args: ${JSON.stringify(paged.args)}
    startup: false
  tools-only:
    command: ${JSON.stringify(toolsOnly.command)}
    args: ${JSON.stringify(toolsOnly.args)}
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    alice = await hub.userToken('alice@example.com');
    bob = await hub.userToken('bob@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await everythingHttp?.stop();
  });

  /** One request over a real socket as `token`; a body makes it a JSON POST. */
  async function send(path: string, token: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** A streamed tool call read to its end: its events, in order, with parsed data. */
  async function streamedCall(
    path: string,
    token: string,
    body: unknown,
  ): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify(body),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    return (await res.text())
      .split('\n\n')
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1] ?? '',
        data: /^data: (.*)$/m.exec(block)?.[1] ?? '',
      }))
      .filter((e) => e.data !== '')
      .map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
  }

  it('lists resources and templates with the upstream’s own URIs, and reads text and blob contents', async () => {
    const resources = await send('/api/mcp/everything/resources', alice);
    expect(resources.status).toBe(200);
    const uris = (resources.body.resources as Array<{ uri: string }>).map((r) => r.uri);
    expect(uris.length).toBeGreaterThan(0);
    expect(uris.every((uri) => uri.startsWith('demo://resource/static/document/'))).toBe(true);

    const templates = await send('/api/mcp/everything/resource-templates', alice);
    expect(templates.status).toBe(200);
    expect(templates.body.resourceTemplates).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ uriTemplate: 'demo://resource/dynamic/text/{resourceId}' }),
      ]),
    );

    const text = await send('/api/mcp/everything/resources/read', alice, {
      uri: 'demo://resource/dynamic/text/7',
    });
    expect(text.status).toBe(200);
    expect(text.body.contents).toEqual([
      expect.objectContaining({
        uri: 'demo://resource/dynamic/text/7',
        text: expect.stringMatching(/^Resource 7: /),
      }),
    ]);
    const blob = await send('/api/mcp/everything/resources/read', alice, {
      uri: 'demo://resource/dynamic/blob/3',
    });
    expect(blob.status).toBe(200);
    const [part] = blob.body.contents as Array<{ blob: string }>;
    expect(Buffer.from(part!.blob, 'base64').toString('utf8')).toMatch(/^Resource 3: /);
  });

  it('lists prompts and gets one filled with arguments', async () => {
    const prompts = await send('/api/mcp/everything/prompts', alice);
    expect(prompts.status).toBe(200);
    const names = (prompts.body.prompts as Array<{ name: string }>).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['simple-prompt', 'args-prompt', 'completable-prompt']));

    const got = await send('/api/mcp/everything/prompts/args-prompt/get', alice, {
      arguments: { city: 'Paris', state: 'Texas' },
    });
    expect(got.status).toBe(200);
    expect(got.body.messages).toEqual([
      { role: 'user', content: { type: 'text', text: "What's weather in Paris, Texas?" } },
    ]);
  });

  it('completes prompt arguments (with context) and resource template arguments', async () => {
    const department = await send('/api/mcp/everything/completions', alice, {
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'department', value: 'E' },
    });
    expect(department.status).toBe(200);
    expect(department.body.completion).toMatchObject({ values: ['Engineering'] });

    const name = await send('/api/mcp/everything/completions', alice, {
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'name', value: '' },
      context: { arguments: { department: 'Sales' } },
    });
    expect(name.body.completion).toMatchObject({ values: ['David', 'Eve', 'Frank'] });

    const resourceId = await send('/api/mcp/everything/completions', alice, {
      ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '12' },
    });
    expect(resourceId.status).toBe(200);
    expect(resourceId.body.completion).toMatchObject({ values: ['12'] });
  });

  it('passes nextCursor through: every page of resources, templates and prompts, in order', async () => {
    const readAll = async (path: string, field: string): Promise<string[]> => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const query = cursor === undefined ? '' : `?cursor=${encodeURIComponent(cursor)}`;
        const page = await send(`${path}${query}`, alice);
        expect(page.status).toBe(200);
        const items = page.body[field] as Array<{ name: string }>;
        expect(items.length).toBeLessThanOrEqual(2);
        seen.push(...items.map((item) => item.name));
        cursor = page.body.nextCursor as string | undefined;
        pages += 1;
      } while (cursor !== undefined);
      expect(pages).toBe(Math.ceil(seen.length / 2));
      return seen;
    };
    expect(await readAll('/api/mcp/paged/resources', 'resources')).toEqual([
      'item 1',
      'item 2',
      'item 3',
      'item 4',
      'item 5',
    ]);
    expect(await readAll('/api/mcp/paged/resource-templates', 'resourceTemplates')).toEqual([
      'template a',
      'template b',
      'template c',
    ]);
    expect(await readAll('/api/mcp/paged/prompts', 'prompts')).toEqual(['first', 'second', 'third']);
  });

  it('a server without the feature: 409 HUB_ERR_CAPABILITY_UNSUPPORTED naming it', async () => {
    for (const path of ['resources', 'resource-templates', 'prompts']) {
      const answer = await send(`/api/mcp/tools-only/${path}`, alice);
      expect(answer.status, path).toBe(409);
      expect(answer.body).toMatchObject({
        code: 'HUB_ERR_CAPABILITY_UNSUPPORTED',
        error: expect.any(String),
      });
    }
    const read = await send('/api/mcp/tools-only/resources/read', alice, { uri: 'x://y' });
    expect(read.body).toMatchObject({ code: 'HUB_ERR_CAPABILITY_UNSUPPORTED', capability: 'resources' });
    // The paging server offers prompts but no completions.
    const completion = await send('/api/mcp/paged/completions', alice, {
      ref: { type: 'ref/prompt', name: 'first' },
      argument: { name: 'x', value: '' },
    });
    expect(completion.status).toBe(409);
    expect(completion.body).toMatchObject({
      code: 'HUB_ERR_CAPABILITY_UNSUPPORTED',
      capability: 'completions',
    });
  });

  it('an upstream’s refusal: 422 HUB_ERR_UPSTREAM_REFUSED with its JSON-RPC code and message', async () => {
    const answer = await send('/api/mcp/paged/resources/read', alice, { uri: 'paged://nothing' });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      code: 'HUB_ERR_UPSTREAM_REFUSED',
      upstreamError: { code: -32002, message: expect.stringContaining('Resource not found') },
    });
    const badCursor = await send('/api/mcp/paged/resources?cursor=99', alice);
    expect(badCursor.status).toBe(422);
    expect(badCursor.body).toMatchObject({ upstreamError: { code: -32602 } });
  });

  it('bad input: 400 HUB_ERR_VALIDATION naming the field; unknown server 404; no token 401', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['/api/mcp/everything/resources/read', {}, 'body.uri'],
      ['/api/mcp/everything/resources/read', { uri: '' }, 'body.uri'],
      ['/api/mcp/everything/resources/read', { uri: 'demo://x', extra: 1 }, 'body.'],
      ['/api/mcp/everything/prompts/args-prompt/get', { arguments: { city: 3 } }, 'body.arguments.city'],
      [
        '/api/mcp/everything/completions',
        { ref: { type: 'ref/tool', name: 'x' }, argument: { name: 'a', value: '' } },
        'body.ref.type',
      ],
      [
        '/api/mcp/everything/completions',
        { ref: { type: 'ref/prompt', name: 'x' }, argument: { name: 'a' } },
        'body.argument.value',
      ],
      ['/api/mcp/paged/logging/level', { level: 'loud' }, 'body.level'],
    ];
    for (const [path, body, field] of cases) {
      const answer = await send(path, alice, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ code: 'HUB_ERR_VALIDATION', error: expect.any(String) });
      const paths = (answer.body.errors as Array<{ path: string; message: string }>).map((e) => e.path);
      expect(paths, JSON.stringify(body)).toContain(field);
    }
    const emptyCursor = await send('/api/mcp/everything/resources?cursor=', alice);
    expect(emptyCursor.status).toBe(400);
    expect(emptyCursor.body).toMatchObject({ code: 'HUB_ERR_VALIDATION' });

    const unknown = await send('/api/mcp/no-such-server/prompts', alice);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'HUB_ERR_SERVER_NOT_FOUND' });
    const anonymous = await fetch(`${base}/api/mcp/everything/resources`);
    expect(anonymous.status).toBe(401);
  });

  it('a user who may not use a server gets the answer a tool call on it gets', async () => {
    const created = await send('/api/mcp/servers', alice, {
      config: { type: 'streamable-http', url: everythingHttp.url, title: 'Alice everything' },
    });
    expect(created.status).toBe(201);
    const name = created.body.serverName as string;
    expect((await send(`/api/mcp/${name}/resources`, alice)).status).toBe(200);

    const toolCall = await send(`/api/mcp/${name}/tools/echo/call`, bob, { arguments: { message: 'hi' } });
    expect(toolCall.status).toBeGreaterThanOrEqual(400);
    const refusals = [
      await send(`/api/mcp/${name}/resources`, bob),
      await send(`/api/mcp/${name}/resource-templates`, bob),
      await send(`/api/mcp/${name}/resources/read`, bob, { uri: 'demo://resource/dynamic/text/1' }),
      await send(`/api/mcp/${name}/prompts`, bob),
      await send(`/api/mcp/${name}/prompts/simple-prompt/get`, bob, {}),
      await send(`/api/mcp/${name}/completions`, bob, {
        ref: { type: 'ref/prompt', name: 'completable-prompt' },
        argument: { name: 'department', value: '' },
      }),
      await send(`/api/mcp/${name}/logging/level`, bob, { level: 'debug' }),
    ];
    for (const refusal of refusals) {
      expect(refusal).toEqual({ status: toolCall.status, body: toolCall.body });
    }
  });

  it('logging: a streamed tool call relays the upstream’s log messages as `log` events, at the level the caller set on their own connection', async () => {
    const chattyLogs = async (token: string) => {
      const events = await streamedCall('/api/mcp/paged/tools/chatty/call', token, { arguments: {} });
      expect(events.at(-1)?.event).toBe('result');
      return events.filter((e) => e.event === 'log').map((e) => e.data);
    };
    // The server's default level is info.
    expect(await chattyLogs(alice)).toEqual([
      { level: 'info', logger: 'chatty', data: 'info message' },
      { level: 'error', logger: 'chatty', data: 'error message' },
    ]);
    const set = await send('/api/mcp/paged/logging/level', alice, { level: 'error' });
    expect(set).toEqual({ status: 200, body: {} });
    expect((await chattyLogs(alice)).map((log) => log.level)).toEqual(['error']);
    expect((await send('/api/mcp/paged/logging/level', alice, { level: 'debug' })).status).toBe(200);
    expect((await chattyLogs(alice)).map((log) => log.level)).toEqual(['debug', 'info', 'error']);
    // Bob's connection to the same (user-level) server keeps its own level.
    expect((await chattyLogs(bob)).map((log) => log.level)).toEqual(['info', 'error']);

    // An app-level server's one connection serves every user: no user sets its level.
    const shared = await send('/api/mcp/everything/logging/level', alice, { level: 'debug' });
    expect(shared.status).toBe(409);
    expect(shared.body).toMatchObject({ code: 'HUB_ERR_CONFLICT', reason: 'shared-connection' });
  });

  it('a browser session works as on the tool routes: reads with the cookie, POSTs need its CSRF token', async () => {
    const password = 'correct horse battery staple';
    await hub.repos.users.create({
      email: 'carol@example.com',
      role: 'USER',
      passwordHash: await hashPassword(password),
    });
    const signIn = await hub.app.inject({
      method: 'POST',
      url: '/api/auth/session',
      headers: { 'sec-fetch-site': 'same-origin' },
      payload: { email: 'carol@example.com', password },
    });
    expect(signIn.statusCode).toBe(200);
    const cookie = `sb_session=${signIn.cookies.find((c) => c.name === 'sb_session')!.value}`;
    const csrf = signIn.json<{ csrfToken: string }>().csrfToken;

    const list = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/everything/prompts',
      headers: { cookie },
    });
    expect(list.statusCode).toBe(200);
    const read = (headers: Record<string, string>) =>
      hub.app.inject({
        method: 'POST',
        url: '/api/mcp/everything/resources/read',
        headers: { cookie, ...headers },
        payload: { uri: 'demo://resource/dynamic/text/1' },
      });
    const withoutToken = await read({});
    expect(withoutToken.statusCode).toBe(403);
    expect(withoutToken.json()).toMatchObject({ code: 'HUB_ERR_CSRF' });
    expect((await read({ 'x-csrf-token': csrf })).statusCode).toBe(200);
  });

  it('a caller hanging up cancels the upstream request (notifications/cancelled reaches the server)', async () => {
    const counts = async () => {
      const read = await send('/api/mcp/paged/resources/read', alice, { uri: 'paged://slow-reads' });
      const [part] = read.body.contents as Array<{ text: string }>;
      return JSON.parse(part!.text) as { started: number; cancelled: number };
    };
    const before = await counts();
    const payload = JSON.stringify({ uri: 'paged://slow' });
    const request = http.request(`${base}/api/mcp/paged/resources/read`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      },
    });
    request.on('error', () => undefined); // the hang-up below
    request.end(payload);
    await expect.poll(async () => (await counts()).started).toBe(before.started + 1);
    expect((await counts()).cancelled).toBe(before.cancelled);
    request.destroy();
    await expect.poll(async () => (await counts()).cancelled).toBe(before.cancelled + 1);
  });

  it('_meta: the tool call body’s _meta reaches the upstream (its progressToken stays the hub’s) and the result’s _meta comes back', async () => {
    const _meta = { traceId: 't-1', 'example.com/tag': { a: 1 }, progressToken: 'mine' };
    const answer = await send('/api/mcp/paged/tools/meta-echo/call', alice, { arguments: {}, _meta });
    expect(answer.status).toBe(200);
    const received = (answer.body._meta as { received: Record<string, unknown> }).received;
    expect(received).toMatchObject({ traceId: 't-1', 'example.com/tag': { a: 1 } });
    expect(received.progressToken).not.toBe('mine');

    const events = await streamedCall('/api/mcp/paged/tools/meta-echo/call', alice, { arguments: {}, _meta });
    expect(events.at(-1)).toMatchObject({
      event: 'result',
      data: { _meta: { received: { traceId: 't-1' } } },
    });
    // LibreChat's body, without _meta, is unchanged; a _meta that is not an object is refused.
    const plain = await send('/api/mcp/paged/tools/meta-echo/call', alice, { arguments: {} });
    expect(plain.status).toBe(200);
    expect(Object.keys((plain.body._meta as { received: object }).received)).toEqual(['progressToken']);
    const bad = await send('/api/mcp/paged/tools/meta-echo/call', alice, { arguments: {}, _meta: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'HUB_ERR_VALIDATION' });
  });

  it('the OpenAPI document lists every content route', async () => {
    const res = await fetch(`${base}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const expected: Array<[string, string]> = [
      ['/api/mcp/{serverName}/resources', 'get'],
      ['/api/mcp/{serverName}/resource-templates', 'get'],
      ['/api/mcp/{serverName}/resources/read', 'post'],
      ['/api/mcp/{serverName}/prompts', 'get'],
      ['/api/mcp/{serverName}/prompts/{promptName}/get', 'post'],
      ['/api/mcp/{serverName}/completions', 'post'],
      ['/api/mcp/{serverName}/logging/level', 'post'],
    ];
    for (const [path, method] of expected) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });
});

describe('REST content routes on a server behind OAuth (issue 16)', () => {
  let as: TestAuthorizationServer;
  let mcp: ProtectedMcpServer;
  let hub: TestHub;
  let publicUrl: string;

  beforeAll(async () => {
    as = await startAuthorizationServer({ accessTokenTtlSeconds: 300 });
    mcp = await startProtectedMcpServer({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      setResource: (url) => as.setResource(url),
    });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({
      env: { PUBLIC_URL: publicUrl },
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  secure:
    type: streamable-http
    url: ${mcp.url}
    requiresOAuth: true
`,
    });
    await hub.app.listen({ port, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await mcp?.stop();
    await as?.stop();
  });

  it('before authorization: the tool call route’s 401 with an oauthUrl and its binding cookie; after it, the server is reached', async () => {
    const token = await hub.userToken('alice@example.com');
    const prompts = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/secure/prompts',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(prompts.statusCode).toBe(401);
    expect(prompts.json()).toMatchObject({
      code: 'HUB_ERR_OAUTH_REQUIRED',
      oauthRequired: true,
      oauthUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
      flowId: expect.any(String),
    });
    expect(prompts.cookies.map((c) => c.name)).toContain('sb_oauth_secure');

    const { callbackUrl } = await authorizeInBrowser(prompts.json<{ oauthUrl: string }>().oauthUrl, {
      loginHint: 'alice',
      redirectUriPrefix: `${publicUrl}/api/mcp/secure/oauth/callback`,
    });
    const url = new URL(callbackUrl);
    const landed = await hub.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { cookie: prompts.cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    expect(landed.headers.location).toContain('/oauth/success');
    // Authorized: the request reaches the server, which offers tools only.
    const again = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/secure/prompts',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'HUB_ERR_CAPABILITY_UNSUPPORTED', capability: 'prompts' });
  });
});
