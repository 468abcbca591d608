import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';

/** Options of {@link startProtectedMcpServer}. */
export interface ProtectedMcpServerOptions {
  /** The authorization server's issuer; tokens must carry it as `iss`. */
  readonly issuer: string;
  /** Where the AS publishes its signing keys. */
  readonly jwksUri: string;
  /** The scope every request needs. Default `mcp:tools`. */
  readonly scope?: string;
  /**
   * Called with the server's URL once it listens. Pass the `TestAuthorizationServer` itself as the
   * options (`startProtectedMcpServer(as)`) and its audience is set here.
   */
  readonly setResource?: (url: string) => void;
  /**
   * Tools that need one more scope than `scope` (tool name → that scope): a `tools/call` of one with
   * a token lacking it gets 403 `insufficient_scope` naming both scopes (a step-up, MCP authorization
   * §"Scope challenge handling"). Each such tool answers `<name>: done`.
   */
  readonly toolScopes?: Readonly<Record<string, string>>;
}

/** A running OAuth-protected MCP server. */
export interface ProtectedMcpServer {
  /** The MCP endpoint and the resource identifier (the tokens' audience): `http://127.0.0.1:P/mcp`. */
  readonly url: string;
  /** The RFC 9728 metadata URL: `http://127.0.0.1:P/.well-known/oauth-protected-resource/mcp`. */
  readonly resourceMetadataUrl: string;
  /** HTTP requests received so far, whatever the path or outcome. */
  readonly requests: number;
  /** 401 answers sent (no token, or a bad or expired one). */
  readonly unauthorized: number;
  /** 403 answers sent (a valid token without the scope). */
  readonly forbidden: number;
  /** The bearer token of the most recent request that carried one, valid or not. */
  lastBearer(): string | null;
  /** The ids of the sessions open now: a session ends when its client DELETEs it. */
  sessionIds(): string[];
  /** Closes every session and connection and stops listening. */
  stop(): Promise<void>;
}

const MCP_PATH = '/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource/mcp';
const DEFAULT_SCOPE = 'mcp:tools';

interface Session {
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
}

type Verdict =
  | { readonly ok: true; readonly auth: AuthInfo }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly error?: string;
      readonly description?: string;
    };

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
) {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A POST's JSON body, read before the token is checked (the scope needed depends on the tool). */
async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Starts a stateful streamable-HTTP MCP server on 127.0.0.1 and a free port that accepts only
 * `Authorization: Bearer <JWT>` signed by the AS (JWKS), with `iss` = issuer, `aud` = its own URL,
 * `typ` `at+jwt` (RFC 9068) and the scope. Serves RFC 9728 metadata at
 * `/.well-known/oauth-protected-resource/mcp`; answers 401 with `WWW-Authenticate: Bearer
 * resource_metadata="…", scope="…"` (plus `error="invalid_token"` when a token was presented) and
 * 403 `error="insufficient_scope"` for a valid token without the scope. A fresh `McpServer` and
 * transport per session; every request is checked, so a session outlives its tokens. Tools:
 * `whoami` → the calling token's `sub`; `echo {message}` → `Echo: <message>`.
 */
export async function startProtectedMcpServer(
  options: ProtectedMcpServerOptions,
): Promise<ProtectedMcpServer> {
  const scope = options.scope ?? DEFAULT_SCOPE;
  const toolScopes = options.toolScopes ?? {};
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const sessions = new Map<string, Session>();
  let requests = 0;
  let unauthorized = 0;
  let forbidden = 0;
  let lastBearer: string | null = null;
  let url = '';
  let resourceMetadataUrl = '';

  const challenge = (verdict: Extract<Verdict, { ok: false }>, needed: readonly string[]): string => {
    const params = [`resource_metadata="${resourceMetadataUrl}"`, `scope="${needed.join(' ')}"`];
    if (verdict.error !== undefined) params.push(`error="${verdict.error}"`);
    if (verdict.description !== undefined) params.push(`error_description="${verdict.description}"`);
    return `Bearer ${params.join(', ')}`;
  };

  const verify = async (header: string | undefined, needed: readonly string[]): Promise<Verdict> => {
    if (header === undefined) return { ok: false, status: 401 };
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (match?.[1] === undefined) {
      return { ok: false, status: 401, error: 'invalid_request', description: 'malformed Authorization' };
    }
    const token = match[1];
    lastBearer = token;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: url,
        typ: 'at+jwt',
      });
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
      if (!needed.every((one) => scopes.includes(one))) {
        return { ok: false, status: 403, error: 'insufficient_scope', description: 'scope missing' };
      }
      const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
      return {
        ok: true,
        auth: {
          token,
          clientId,
          scopes,
          ...(payload.exp === undefined ? {} : { expiresAt: payload.exp }),
          resource: new URL(url),
          extra: { sub: payload.sub ?? null },
        },
      };
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      return {
        ok: false,
        status: 401,
        error: 'invalid_token',
        description: expired ? 'the access token expired' : 'the access token is invalid',
      };
    }
  };

  const createMcpServer = (): McpServer => {
    const server = new McpServer({ name: 'switchboard-protected', version: '1.0.0' });
    server.registerTool('whoami', { description: "Answers the calling token's subject" }, (extra) => {
      const sub = extra.authInfo?.extra?.sub;
      return text(typeof sub === 'string' ? sub : '');
    });
    server.registerTool(
      'echo',
      { description: 'Echoes the message back', inputSchema: { message: z.string() } },
      ({ message }) => text(`Echo: ${message}`),
    );
    for (const name of Object.keys(toolScopes)) {
      server.registerTool(name, { description: `Needs scope ${toolScopes[name] ?? ''}` }, () =>
        text(`${name}: done`),
      );
    }
    return server;
  };

  type AuthedRequest = http.IncomingMessage & { auth?: AuthInfo };

  const serveMcp = async (req: AuthedRequest, res: http.ServerResponse, body: unknown): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (session === undefined) {
        sendJson(res, 404, {
          jsonrpc: '2.0',
          error: { code: -32001, message: 'Session not found' },
          id: null,
        });
        return;
      }
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 400, {
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Bad Request: no session id' },
        id: null,
      });
      return;
    }
    const server = createMcpServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (transport.sessionId === undefined) await server.close();
  };

  const handle = async (req: AuthedRequest, res: http.ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path === METADATA_PATH && req.method === 'GET') {
      sendJson(res, 200, {
        resource: url,
        authorization_servers: [options.issuer],
        scopes_supported: [scope],
        bearer_methods_supported: ['header'],
      });
      return;
    }
    if (path !== MCP_PATH) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const needed = [scope, ...extraScope(body)];
    const verdict = await verify(req.headers.authorization, needed);
    if (!verdict.ok) {
      if (verdict.status === 401) unauthorized += 1;
      else forbidden += 1;
      sendJson(
        res,
        verdict.status,
        { error: verdict.error ?? 'unauthorized' },
        { 'www-authenticate': challenge(verdict, needed) },
      );
      return;
    }
    // The SDK hands `req.auth` to tool handlers as `extra.authInfo`.
    req.auth = verdict.auth;
    await serveMcp(req, res, body);
  };

  /** The scope a `tools/call` of one of `toolScopes` needs beyond `scope`, if any. */
  const extraScope = (body: unknown): string[] => {
    if (typeof body !== 'object' || body === null) return [];
    const message = body as { method?: unknown; params?: { name?: unknown } };
    if (message.method !== 'tools/call' || typeof message.params?.name !== 'string') return [];
    const extra = toolScopes[message.params.name];
    return extra === undefined ? [] : [extra];
  };

  const httpServer = http.createServer((req, res) => {
    requests += 1;
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });

  const port = await new Promise<number>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: '127.0.0.1', port: 0 }, () => {
      httpServer.off('error', reject);
      resolve((httpServer.address() as AddressInfo).port); // a TCP listen always yields AddressInfo
    });
  });
  url = `http://127.0.0.1:${port}${MCP_PATH}`;
  resourceMetadataUrl = `http://127.0.0.1:${port}${METADATA_PATH}`;
  options.setResource?.(url);

  let stopped = false;
  return {
    url,
    resourceMetadataUrl,
    get requests() {
      return requests;
    },
    get unauthorized() {
      return unauthorized;
    },
    get forbidden() {
      return forbidden;
    },
    lastBearer: () => lastBearer,
    sessionIds: () => [...sessions.keys()],
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((session) => session.server.close()));
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
