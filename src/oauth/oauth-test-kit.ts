/**
 * Test support for the OAuth unit tests (not used by the hub): a tiny programmable HTTP server on
 * 127.0.0.1 that plays a protected resource and an authorization server with bad or good metadata,
 * and a builder of an OAuth service over real parts (memory KV, SQLite, keyring, a capturing logger).
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { serverConfigSchema, type ServerConfig } from '../config/index.js';
import type { FetchLike } from '../connections/index.js';
import { systemRandom } from '../core/index.js';
import { keyringFromCredentialsKey, type CipherKeyring } from '../credentials/index.js';
import { createMemoryKv, type Kv } from '../kv/index.js';
import { createLogger } from '../observability/index.js';
import {
  createDatabase,
  createRepositories,
  migrateToLatest,
  type CredentialsRepository,
  type Repositories,
} from '../store/index.js';
import { createOAuthService } from './oauth-service.js';
import type { OAuthService, OAuthServiceDeps, OAuthSettings } from './types.js';
import { recordLogOutput } from '../../test/support/run-record.js';

/** One request the stub received. */
export interface StubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a stub route answers. */
export interface StubReply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A route: a fixed JSON document, or a function of the request. */
export type StubRoute = StubReply | ((req: StubRequest) => StubReply);

/** A running stub server. */
export interface StubServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: StubRequest[];
  route(path: string, route: StubRoute | undefined): void;
  stop(): Promise<void>;
}

/** Starts a stub on a free loopback port; unknown paths answer 404. */
export async function startStubServer(): Promise<StubServer> {
  const routes = new Map<string, StubRoute>();
  const requests: StubRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: StubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const route = routes.get(url.pathname);
      const reply: StubReply =
        route === undefined
          ? { status: 404, body: { error: 'not_found' } }
          : typeof route === 'function'
            ? route(request)
            : route;
      const body =
        reply.body === undefined
          ? ''
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, {
        'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
        ...reply.headers,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; // TCP listen: AddressInfo
  return {
    origin,
    requests,
    route: (p, route) => {
      if (route === undefined) routes.delete(p);
      else routes.set(p, route);
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The RFC 8414 document of a well-behaved AS at `issuer`, with overrides. */
export function asMetadata(issuer: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    revocation_endpoint: `${issuer}/revoke`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    authorization_response_iss_parameter_supported: true,
    ...overrides,
  };
}

/** A good AS on the stub: metadata, DCR, a token endpoint with rotating refresh tokens, revocation. */
export interface StubAs {
  readonly issuer: string;
  /** Counters per grant. */
  readonly counts: { registrations: number; codeGrants: number; refreshGrants: number; revocations: number };
  /** Every secret string it minted. */
  readonly minted: string[];
  /** Makes the next token requests answer this instead (cleared with undefined). */
  failTokenWith(reply: StubReply | undefined): void;
  accessTokenTtl: number;
}

/** Installs {@link StubAs} routes on `stub`, plus PRM for `<origin>/mcp`. */
export function installStubAs(stub: StubServer, metadataOverrides: Record<string, unknown> = {}): StubAs {
  const issuer = stub.origin;
  const counts = { registrations: 0, codeGrants: 0, refreshGrants: 0, revocations: 0 };
  const minted: string[] = [];
  const liveRefresh = new Set<string>();
  let failure: StubReply | undefined;
  let serial = 0;
  const mint = (kind: string): string => {
    serial += 1;
    const value = `${kind}-${serial}-${Math.random().toString(36).slice(2)}`;
    minted.push(value);
    return value;
  };
  const state: StubAs = {
    issuer,
    counts,
    minted,
    accessTokenTtl: 3600,
    failTokenWith: (reply) => {
      failure = reply;
    },
  };
  stub.route('/.well-known/oauth-protected-resource/mcp', {
    body: { resource: `${issuer}/mcp`, authorization_servers: [issuer], scopes_supported: ['mcp:tools'] },
  });
  stub.route('/.well-known/oauth-authorization-server', { body: asMetadata(issuer, metadataOverrides) });
  stub.route('/register', (req) => {
    counts.registrations += 1;
    const body = JSON.parse(req.body) as Record<string, unknown>; // the hub sends JSON (tested)
    return { status: 201, body: { ...body, client_id: mint('client'), client_id_issued_at: 1 } };
  });
  stub.route('/token', (req) => {
    if (failure) return failure;
    const form = new URLSearchParams(req.body);
    const issue = (): StubReply => {
      const refresh = mint('rt');
      liveRefresh.add(refresh);
      return {
        body: {
          access_token: mint('at'),
          refresh_token: refresh,
          token_type: 'Bearer',
          expires_in: state.accessTokenTtl,
          scope: form.get('scope') ?? 'mcp:tools',
        },
      };
    };
    if (form.get('grant_type') === 'authorization_code') {
      counts.codeGrants += 1;
      return issue();
    }
    if (form.get('grant_type') === 'refresh_token') {
      counts.refreshGrants += 1;
      const presented = form.get('refresh_token') ?? '';
      // OA-19: a rotated (used) refresh token is refused, as real ASes do.
      if (!liveRefresh.delete(presented)) return { status: 400, body: { error: 'invalid_grant' } };
      return issue();
    }
    return { status: 400, body: { error: 'unsupported_grant_type' } };
  });
  stub.route('/revoke', () => {
    counts.revocations += 1;
    return { status: 200, body: '' };
  });
  return state;
}

/** A streamable-HTTP server entry for `url`, validated like the hub's config. */
export function serverConfig(url: string, extra: Record<string, unknown> = {}): ServerConfig {
  return serverConfigSchema.parse({ type: 'streamable-http', url, ...extra });
}

/** A service over real parts, plus its clock, captured log lines and repositories. */
export interface ServiceKit {
  service: OAuthService;
  kv: Kv;
  repos: Repositories;
  keyring: CipherKeyring;
  logLines: string[];
  clock: { now(): number };
  advance(ms: number): void;
  close(): Promise<void>;
}

/** Builds an {@link OAuthService} for unit tests. */
export async function makeServiceKit(
  options: {
    fetch?: FetchLike;
    settings?: Partial<OAuthSettings>;
    kv?: Kv;
    sqlitePath?: string;
    redirectBase?: string;
    clientMetadataUrl?: string;
    /** Wraps the credentials repository the service writes through (a fault test's one fake). */
    credentials?: (real: CredentialsRepository) => CredentialsRepository;
  } = {},
): Promise<ServiceKit> {
  let now = Date.now();
  const clock = { now: () => now };
  const kv = options.kv ?? createMemoryKv({ clock });
  const sqlitePath =
    options.sqlitePath ?? path.join(mkdtempSync(path.join(os.tmpdir(), 'sb-oauth-')), 'hub.db');
  const store = await createDatabase({ sqlitePath });
  await migrateToLatest(store.db);
  const repos = createRepositories({ db: store.db, clock });
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write: (line: string) => {
        logLines.push(line);
        recordLogOutput(line); // the run-wide SE-05 scan reads every test's log lines
      },
    },
  });
  const keyring = keyringFromCredentialsKey(Buffer.alloc(32, 7));
  const redirectBase = options.redirectBase ?? 'https://hub.example';
  const deps: OAuthServiceDeps = {
    kv,
    credentials: options.credentials ? options.credentials(repos.credentials) : repos.credentials,
    keyring,
    fetch: options.fetch ?? ((url, init) => globalThis.fetch(url, init)),
    clock,
    random: systemRandom,
    logger,
    redirectUri: (serverName) => `${redirectBase}/api/mcp/${serverName}/oauth/callback`,
    secret: Buffer.alloc(32, 3),
    sleep: () => Promise.resolve(),
    settings: { metadataCacheMs: 0, ...options.settings },
    ...(options.clientMetadataUrl === undefined ? {} : { clientMetadataUrl: options.clientMetadataUrl }),
  };
  let service: OAuthService;
  try {
    service = createOAuthService(deps);
  } catch (error) {
    if (options.kv === undefined) await kv.close();
    await store.close();
    throw error;
  }
  return {
    service,
    kv,
    repos,
    keyring,
    logLines,
    clock,
    advance: (ms) => {
      now += ms;
    },
    close: async () => {
      if (options.kv === undefined) await kv.close();
      await store.close();
    },
  };
}
