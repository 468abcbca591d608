import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { recordSecret, type SecretKind } from '../support/run-record.js';

/** Options of {@link startAuthorizationServer}. */
export interface AuthorizationServerOptions {
  /** Lifetime of the JWT access tokens, in seconds. Default 60. */
  readonly accessTokenTtlSeconds?: number;
  /**
   * The protected resource (the MCP server's URL): audience of the access tokens and the only
   * resource indicator accepted. Can be set later with `setResource` (the MCP server is usually
   * started after the AS, since it needs the AS's issuer).
   */
  readonly resourceUrl?: string;
  /** The resource server's scopes, space-separated (RFC 6749 §3.3). Default `mcp:tools`. */
  readonly scope?: string;
}

/** What the authorization server has done so far; the fields grow as requests arrive. */
export interface AuthorizationServerCounts {
  /** Successful dynamic client registrations (`POST /reg` answered 201). */
  readonly registrations: number;
  /** Successful `authorization_code` grants at the token endpoint. */
  readonly authorizationCodeGrants: number;
  /** Successful `refresh_token` grants at the token endpoint. */
  readonly refreshTokenGrants: number;
  /** Revocation requests answered 200 (RFC 7009 answers 200 for unknown tokens too). */
  readonly revocations: number;
  /** Token endpoint requests that failed, whatever the grant type or the reason. */
  readonly failedGrants: number;
}

/** A running `oidc-provider` for tests. */
export interface TestAuthorizationServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly issuer: string;
  /** `<issuer>/jwks`. */
  readonly jwksUri: string;
  /** Sets the protected resource (audience of the access tokens); see {@link AuthorizationServerOptions}. */
  setResource(url: string): void;
  /** Live counters (read them when needed; they are not a snapshot). */
  readonly counts: AuthorizationServerCounts;
  /**
   * Every secret string the AS handed out so far: access, refresh and ID tokens, authorization
   * codes, client secrets and registration access tokens. For greps of logs, bodies and rows.
   */
  mintedTokens(): string[];
  /** Stops listening and closes every connection. */
  stop(): Promise<void>;
}

/** The test accounts; `login_hint` picks one and becomes the token's `sub`. */
const ACCOUNTS: ReadonlySet<string> = new Set(['alice', 'bob']);
const DEFAULT_ACCESS_TOKEN_TTL = 60;
const DEFAULT_SCOPE = 'mcp:tools';
const REFRESH_TOKEN_TTL = 24 * 60 * 60;
const INTERACTION_PATH = /^\/interaction\/([\w-]+)$/;

// --- The parts of oidc-provider used here. The package ships no type declarations (and
// @types/oidc-provider is not installed), so it is loaded untyped and checked by `isOidcModule`.

type KoaNext = () => Promise<unknown>;

interface OidcProvider {
  /** Koa's request listener; its promise settles by itself (Koa catches and answers errors). */
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<unknown>;
  use(middleware: (ctx: unknown, next: KoaNext) => Promise<void>): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  interactionDetails(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>;
  readonly Grant: GrantModel;
}

interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}

interface GrantModel {
  new (init: { accountId: string; clientId: string }): Grant;
  find(id: string): Promise<Grant | undefined>;
}

interface InteractionPrompt {
  readonly checks: { add(check: object): void };
}

interface OidcModule {
  readonly Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  readonly errors: { readonly InvalidTarget: new (description?: string) => Error };
  readonly interactionPolicy: {
    base(): { get(name: string): InteractionPrompt | undefined };
    readonly Check: new (reason: string, description: string, check: (ctx: unknown) => boolean) => object;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `value[key]` for an unknown value, `undefined` when it is not an object. */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isRecord(current)) return undefined;
    current = current[key];
  }
  return current;
}

function stringField(value: unknown, ...path: string[]): string | undefined {
  const found = field(value, ...path);
  return typeof found === 'string' ? found : undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function isOidcModule(value: unknown): value is OidcModule {
  return (
    typeof field(value, 'Provider') === 'function' &&
    typeof field(value, 'errors', 'InvalidTarget') === 'function' &&
    typeof field(value, 'interactionPolicy', 'base') === 'function' &&
    typeof field(value, 'interactionPolicy', 'Check') === 'function'
  );
}

async function loadOidcProvider(): Promise<OidcModule> {
  // A non-literal specifier keeps TypeScript from looking for the missing declarations.
  const specifier = 'oidc-provider';
  const loaded: unknown = await import(specifier);
  if (!isOidcModule(loaded)) throw new Error('oidc-provider does not export what this peer expects');
  return loaded;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port); // a TCP listen always yields AddressInfo
    });
  });
}

/**
 * Starts a real `oidc-provider` on 127.0.0.1 and a free port, set up as an MCP authorization
 * server: open dynamic registration at `/reg` (public clients by default, `client_secret_basic` and
 * `client_secret_post` also accepted), PKCE S256 required for every client, RFC 8707 resource
 * indicators with JWT access tokens (audience = the resource URL, scope `mcp:tools`), rotating
 * refresh tokens for every client allowed the `refresh_token` grant, RFC 7009 revocation and
 * RFC 9207 `iss` in authorization responses. The interaction route logs in the account named by
 * `login_hint` (`alice` or `bob`; anything else ends the flow with `access_denied`) and consents
 * to whatever was asked; a `login_hint` naming another account than the browser's session logs in
 * again.
 */
export async function startAuthorizationServer(
  options: AuthorizationServerOptions = {},
): Promise<TestAuthorizationServer> {
  const { Provider, errors, interactionPolicy } = await loadOidcProvider();
  const accessTokenTtl = options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL;
  const scope = options.scope ?? DEFAULT_SCOPE;
  let resource = options.resourceUrl;

  const counts = {
    registrations: 0,
    authorizationCodeGrants: 0,
    refreshTokenGrants: 0,
    revocations: 0,
    failedGrants: 0,
  };
  const minted = new Set<string>();
  // Each one also goes to the run-wide record, which the run's SE-05 log scan checks.
  const remember = (value: unknown, kind: SecretKind = 'as-token'): void => {
    if (typeof value === 'string' && value !== '') minted.add(value);
    recordSecret(kind, value);
  };

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-as-1', use: 'sig', alg: 'ES256' };

  const httpServer = http.createServer();
  const port = await listen(httpServer);
  const issuer = `http://127.0.0.1:${port}`;

  // With login_hint naming someone else than the session's account, log in again (the default
  // policy would silently reuse the session, so a jar reused across users would get a stale sub).
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(
    new interactionPolicy.Check('login_hint_mismatch', 'login_hint names another account', (ctx) => {
      const hint = stringField(ctx, 'oidc', 'params', 'login_hint');
      const current = stringField(ctx, 'oidc', 'session', 'accountId');
      return hint !== undefined && current !== undefined && hint !== current;
    }),
  );

  const resourceServerInfo = (indicator: string): Record<string, unknown> => {
    // RFC 8707: only the one resource we protect is a valid target.
    if (resource === undefined || indicator !== resource) {
      throw new errors.InvalidTarget('unknown resource indicator');
    }
    return {
      audience: resource,
      scope,
      accessTokenFormat: 'jwt',
      accessTokenTTL: accessTokenTtl,
      jwt: { sign: { alg: 'ES256' } },
    };
  };

  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The resource scope is listed too: registration refuses a client `scope` outside this list,
    // and the SDK's registerClient sends the scope it means to ask for.
    scopes: ['openid', 'offline_access', ...scope.split(' ')],
    findAccount: (_ctx: unknown, sub: unknown) =>
      typeof sub === 'string' && ACCOUNTS.has(sub)
        ? { accountId: sub, claims: () => Promise.resolve({ sub }) }
        : undefined,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
    },
    clientBasedCORS: () => false, // server-to-server only: no browser CORS here
    pkce: { required: () => true }, // every client, confidential ones too (OAuth 2.1)
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens; another client's are ignored (still a 200, RFC 7009).
        allowedPolicy: (_ctx: unknown, client: unknown, token: unknown) =>
          field(token, 'clientId') === field(client, 'clientId'),
      },
      resourceIndicators: {
        enabled: true,
        // No `resource` in the request: the one we protect (MCP clients should send it, some do not).
        defaultResource: (_ctx: unknown, _client: unknown, oneOf: unknown) => {
          const candidates = stringList(oneOf);
          if (candidates.length === 0) return resource;
          return resource !== undefined && candidates.includes(resource) ? resource : candidates;
        },
        // A token request without `resource` gets the resource of the authorization (the default
        // only does so without `openid`); a refresh keeps its audience.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: unknown) =>
          resourceServerInfo(typeof indicator === 'string' ? indicator : ''),
      },
    },
    // Default: only with `offline_access`. MCP clients rarely ask for it, so every client allowed
    // the refresh_token grant gets one.
    issueRefreshToken: (_ctx: unknown, client: unknown) => {
      const allowed = field(client, 'grantTypeAllowed');
      return typeof allowed === 'function' && allowed.call(client, 'refresh_token') === true;
    },
    rotateRefreshToken: true,
    // Tokens outlive the AS browser session (otherwise they die with `_session`).
    expiresWithSession: () => false,
    ttl: {
      AccessToken: () => accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 60 * 60,
      RefreshToken: REFRESH_TOKEN_TTL,
      Interaction: 10 * 60,
      Session: REFRESH_TOKEN_TTL,
      Grant: REFRESH_TOKEN_TTL,
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: unknown) => `/interaction/${stringField(interaction, 'uid') ?? ''}`,
    },
  });

  // Counting and token capture: one Koa middleware around every endpoint, reading the answer.
  provider.use(async (ctx, next) => {
    await next();
    // What the client sent: the state it binds the flow with and the PKCE verifier it proves.
    recordSecret('oauth-state', stringField(ctx, 'oidc', 'params', 'state'));
    recordSecret('code-verifier', stringField(ctx, 'oidc', 'params', 'code_verifier'));
    const method = field(ctx, 'method');
    const path = field(ctx, 'path');
    const status = field(ctx, 'status');
    const body = field(ctx, 'body');
    if (method !== 'POST' || typeof status !== 'number') return;
    if (path === '/token') {
      if (status !== 200) {
        counts.failedGrants += 1;
        return;
      }
      const grantType = stringField(ctx, 'oidc', 'params', 'grant_type');
      if (grantType === 'authorization_code') counts.authorizationCodeGrants += 1;
      if (grantType === 'refresh_token') counts.refreshTokenGrants += 1;
      for (const key of ['access_token', 'refresh_token', 'id_token']) remember(field(body, key));
    } else if (path === '/reg' && status === 201) {
      counts.registrations += 1;
      remember(field(body, 'client_secret'), 'as-client-secret');
      remember(field(body, 'registration_access_token'));
    } else if (path === '/token/revocation' && status === 200) {
      counts.revocations += 1;
    }
  });
  // The code never appears in a token response; an opaque artefact's value is its jti.
  provider.on('authorization_code.saved', (code) => remember(field(code, 'jti'), 'as-code'));

  const finish = (req: http.IncomingMessage, res: http.ServerResponse, result: Record<string, unknown>) =>
    provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });

  const interact = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    const prompt = stringField(details, 'prompt', 'name');
    if (prompt === 'login') {
      const hint = stringField(details, 'params', 'login_hint');
      if (hint === undefined || !ACCOUNTS.has(hint)) {
        await finish(req, res, { error: 'access_denied', error_description: 'no such test account' });
        return;
      }
      await finish(req, res, { login: { accountId: hint } });
      return;
    }
    if (prompt === 'consent') {
      const accountId = stringField(details, 'session', 'accountId');
      const clientId = stringField(details, 'params', 'client_id');
      if (accountId === undefined || clientId === undefined) throw new Error('consent without a session');
      const grantId = stringField(details, 'grantId');
      const grant =
        (grantId === undefined ? undefined : await provider.Grant.find(grantId)) ??
        new provider.Grant({ accountId, clientId });
      const missing = field(details, 'prompt', 'details');
      const oidcScopes = stringList(field(missing, 'missingOIDCScope'));
      if (oidcScopes.length > 0) grant.addOIDCScope(oidcScopes.join(' '));
      const oidcClaims = stringList(field(missing, 'missingOIDCClaims'));
      if (oidcClaims.length > 0) grant.addOIDCClaims(oidcClaims);
      const resourceScopes = field(missing, 'missingResourceScopes');
      if (isRecord(resourceScopes)) {
        for (const [indicator, scopes] of Object.entries(resourceScopes)) {
          grant.addResourceScope(indicator, stringList(scopes).join(' '));
        }
      }
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      );
      return;
    }
    await finish(req, res, { error: 'access_denied', error_description: 'unsupported prompt' });
  };

  const koa = provider.callback();
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (req.method === 'GET' && INTERACTION_PATH.test(path)) {
      interact(req, res).catch((error: unknown) => {
        // A missing or foreign interaction cookie lands here (SessionNotFound and the like).
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${message}`);
      });
      return;
    }
    void koa(req, res); // Koa answers its own errors; the promise never rejects
  });

  let stopped = false;
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    setResource: (url) => {
      resource = url;
    },
    counts,
    mintedTokens: () => [...minted],
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
