import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { interactionPolicy } from 'oidc-provider';

/** What the identity provider knows about one of its users; the key of the map is the `sub`. */
export interface IdpAccount {
  email?: string;
  email_verified?: boolean;
  groups?: string[];
}

/** One client registered at the identity provider (a hub's provider entry). */
export interface IdpClient {
  clientId: string;
  /** With a secret: a confidential client (client_secret_basic); without: a public client. */
  clientSecret?: string;
  redirectUri: string;
}

/** Options of {@link startOidcIdp}. */
export interface OidcIdpOptions {
  clients: readonly IdpClient[];
  /**
   * True (the default): the ID token carries the email and groups claims. False: it carries only
   * `sub` and the rest comes from userinfo (OpenID Connect Core §5.4, oidc-provider's default).
   */
  claimsInIdToken?: boolean;
}

/** What the identity provider has done so far. */
export interface IdpCounts {
  /** Successful authorization_code grants. */
  codeGrants: number;
  /** Token requests that failed (a replayed or foreign code, a bad verifier). */
  failedGrants: number;
  /** Userinfo requests answered 200. */
  userinfo: number;
}

/** A running `oidc-provider` acting as an organisation's identity provider. */
export interface TestIdp {
  /** `http://127.0.0.1:<port>`. */
  readonly issuer: string;
  /** Its users by `sub`; change them between sign-ins (a user leaves a group). */
  readonly accounts: Map<string, IdpAccount>;
  readonly counts: IdpCounts;
  /** Every code and token it handed out, for greps of logs and pages. */
  minted(): string[];
  stop(): Promise<void>;
}

const INTERACTION_PATH = /^\/interaction\/([\w-]+)$/;

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
 * Starts a real `oidc-provider` on 127.0.0.1 as an OpenID Connect identity provider: static
 * clients, the authorization code flow with PKCE, RFC 9207 `iss` in responses, scopes `openid`,
 * `profile` (with `groups`) and `email` (with `email_verified`). Its interaction route signs in the
 * account named by `login_hint` (the browser adds it, as a user would type their name) and consents
 * to everything asked; an unknown or missing hint ends the flow with `access_denied`.
 */
export async function startOidcIdp(options: OidcIdpOptions): Promise<TestIdp> {
  const accounts = new Map<string, IdpAccount>();
  const counts: IdpCounts = { codeGrants: 0, failedGrants: 0, userinfo: 0 };
  const minted = new Set<string>();
  const remember = (value: unknown): void => {
    if (typeof value === 'string' && value !== '') minted.add(value);
  };

  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-idp-1', use: 'sig', alg: 'ES256' };

  const httpServer = http.createServer();
  const port = await listen(httpServer);
  const issuer = `http://127.0.0.1:${port}`;

  // A login_hint naming someone else than the session's account logs in again.
  const policy = interactionPolicy.base();
  policy.get('login')?.checks.add(
    new interactionPolicy.Check('login_hint_mismatch', 'login_hint names another account', (ctx) => {
      const hint = ctx.oidc.params?.login_hint;
      const current = ctx.oidc.session?.accountId;
      return typeof hint === 'string' && current !== undefined && hint !== current;
    }),
  );

  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      ...(client.clientSecret === undefined
        ? { token_endpoint_auth_method: 'none' }
        : { client_secret: client.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }),
      redirect_uris: [client.redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    })),
    scopes: ['openid', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['groups'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: options.claimsInIdToken === false,
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      if (account === undefined) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...accounts.get(sub) }) };
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, userinfo: { enabled: true } },
    ttl: {
      AuthorizationCode: 60,
      IdToken: 3600,
      AccessToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  });

  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token') {
      if (ctx.status !== 200) {
        counts.failedGrants += 1;
        return;
      }
      counts.codeGrants += 1;
      const body = ctx.body as Record<string, unknown>; // the token endpoint answers a JSON object
      for (const key of ['access_token', 'id_token', 'refresh_token']) remember(body[key]);
    }
    if (ctx.path === '/me' && ctx.status === 200) counts.userinfo += 1;
  });
  provider.on('authorization_code.saved', (code: { jti: string }) => remember(code.jti));

  const interact = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const details = await provider.interactionDetails(req, res);
    const finish = (result: Record<string, unknown>, merge = false) =>
      provider.interactionFinished(req, res, result, { mergeWithLastSubmission: merge });
    if (details.prompt.name === 'login') {
      const hint = details.params.login_hint;
      if (typeof hint !== 'string' || !accounts.has(hint)) {
        await finish({ error: 'access_denied', error_description: 'no such account' });
        return;
      }
      await finish({ login: { accountId: hint } });
      return;
    }
    if (details.prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      const clientId = details.params.client_id;
      if (accountId === undefined || typeof clientId !== 'string')
        throw new Error('consent without a session');
      const grant =
        (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ??
        new provider.Grant({ accountId, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      await finish({ consent: { grantId: await grant.save() } }, true);
      return;
    }
    await finish({ error: 'access_denied', error_description: 'unsupported prompt' });
  };

  const koa = provider.callback();
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (req.method === 'GET' && INTERACTION_PATH.test(path)) {
      interact(req, res).catch((error: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${message}`);
      });
      return;
    }
    void koa(req, res);
  });

  let stopped = false;
  return {
    issuer,
    accounts,
    counts,
    minted: () => [...minted],
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
