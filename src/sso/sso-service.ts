import { timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import type { SsoProviderConfig } from '../config/index.js';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { groupsClaimIsDistributed, identityFrom, needsUserinfo, type ClaimSet } from './claims.js';
import { digest, type PendingSignIns } from './pending-sign-ins.js';
import type { ProviderClients } from './provider-clients.js';
import { provisionAccount, type ProvisioningDeps } from './provisioning.js';

/** What the provider's redirect brought back, as the callback route read it from the query. */
export interface CallbackParams {
  /** Every query parameter, for openid-client to validate (RFC 6749 §4.1.2). */
  query: Readonly<Record<string, string>>;
  /** The value of this browser's binding cookie, if it sent one. */
  binding: string | undefined;
}

/** A finished sign-in: whom to sign in, and where the browser goes next. */
export interface SignedInBySso {
  userId: string;
  returnTo: string;
}

/** Options of {@link SsoService}. */
export interface SsoServiceOptions {
  providers: readonly SsoProviderConfig[];
  /** PUBLIC_URL, without a trailing slash: redirect URIs are built from it. */
  publicUrl: string;
  clients: ProviderClients;
  pending: PendingSignIns;
  provisioning: ProvisioningDeps;
  logger: Logger;
}

const REFUSED_STATE = 'This sign-in link is unknown, expired or was already used.';
const OTHER_BROWSER = 'This sign-in was started in another browser, so it was refused.';
const PROVIDER_FAILED = 'The identity provider did not complete the sign-in.';

/** A fixed, safe refusal; the cause stays in the logs only. */
function refused(
  code: 'HUB_ERR_BAD_REQUEST' | 'HUB_ERR_FORBIDDEN' | 'HUB_ERR_OAUTH_TOKEN_FAILED',
  message: string,
  cause?: unknown,
): HubError {
  return new HubError(code, { message, cause });
}

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Single sign-on with OpenID Connect: the authorization code flow with PKCE (RFC 7636), `state`
 * bound to the browser that started it, `nonce` (OpenID Connect Core §3.1.2.1) and the RFC 9207
 * `iss` check, through openid-client. A finished sign-in is provisioned to a hub account keyed by
 * (issuer, subject); signing the browser in is the caller's part.
 */
export class SsoService {
  private readonly byId: ReadonlyMap<string, SsoProviderConfig>;

  constructor(private readonly options: SsoServiceOptions) {
    this.byId = new Map(options.providers.map((provider) => [provider.id, provider]));
  }

  /** The providers, in configured order, for sign-in buttons. */
  list(): Array<{ id: string; name: string }> {
    return this.options.providers.map(({ id, name }) => ({ id, name }));
  }

  /** Where the provider sends the browser back; the admin registers it at the provider. */
  redirectUri(providerId: string): string {
    return `${this.options.publicUrl}/auth/sso/${encodeURIComponent(providerId)}/callback`;
  }

  /**
   * Starts a sign-in: records it under a fresh `state` and returns the provider's authorization
   * URL. `binding` is the value of the browser's binding cookie (the caller sets it); `returnTo`
   * must already be a safe same-site path.
   */
  async start(providerId: string, returnTo: string, binding: string): Promise<URL> {
    const provider = this.provider(providerId);
    const configuration = await this.options.clients.configuration(provider);
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    await this.options.pending.put(state, {
      providerId,
      returnTo,
      bindingHash: digest(binding),
      codeVerifier,
      nonce,
    });
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri(providerId),
      scope: provider.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
  }

  /**
   * Finishes a sign-in at the callback and returns the account to sign in. The pending record is
   * consumed first, so a refused callback cannot be tried again. Throws a `HubError` with a fixed
   * message: 400 for an unknown state, 403 for another browser, a provider's refusal or a disabled
   * account, 502 when the provider's answer does not verify.
   */
  async finish(providerId: string, params: CallbackParams): Promise<SignedInBySso> {
    const state = params.query.state;
    if (state === undefined || state === '') throw refused('HUB_ERR_BAD_REQUEST', REFUSED_STATE);
    const pending = await this.options.pending.take(state);
    // A sign-in is finished only at the callback of the provider it was started with.
    if (pending === null || pending.providerId !== providerId) {
      throw refused('HUB_ERR_BAD_REQUEST', REFUSED_STATE);
    }
    const provider = this.provider(providerId);
    // Login CSRF: only the browser that started this sign-in may finish it, so an attacker's own
    // code cannot sign a victim's browser in as the attacker.
    if (params.binding === undefined || !sameDigest(digest(params.binding), pending.bindingHash)) {
      throw refused('HUB_ERR_FORBIDDEN', OTHER_BROWSER);
    }
    if (params.query.error !== undefined) {
      this.options.logger.info(
        { provider: providerId, provider_error: params.query.error.slice(0, 64) },
        'sso sign-in refused by the provider',
      );
      throw refused('HUB_ERR_FORBIDDEN', 'The identity provider refused the sign-in.');
    }
    // RFC 9207 §2.4: a response naming another issuer is a mix-up; refuse before redeeming the code.
    const iss = params.query.iss;
    if (iss !== undefined && iss !== provider.issuer) {
      throw refused('HUB_ERR_OAUTH_TOKEN_FAILED', PROVIDER_FAILED);
    }

    const configuration = await this.options.clients.configuration(provider);
    const callbackUrl = new URL(this.redirectUri(providerId));
    for (const [key, value] of Object.entries(params.query)) callbackUrl.searchParams.set(key, value);
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedNonce: pending.nonce,
        expectedState: state,
        idTokenExpected: true,
      });
    } catch (error) {
      throw refused('HUB_ERR_OAUTH_TOKEN_FAILED', PROVIDER_FAILED, error);
    }
    const claims = tokens.claims();
    // openid-client checked the ID token's signature, audience, nonce and issuer against the
    // discovered metadata; the issuer is compared with the configured one as well, since the hub
    // keys accounts by it.
    if (claims === undefined || claims.iss !== provider.issuer) {
      throw refused('HUB_ERR_OAUTH_TOKEN_FAILED', PROVIDER_FAILED);
    }
    const idToken: ClaimSet & { sub: string } = claims;
    const userinfo = needsUserinfo(idToken, provider.groupsClaim)
      ? await this.userinfo(configuration, tokens.access_token, idToken.sub)
      : undefined;
    const identity = identityFrom(provider.issuer, idToken, userinfo, provider.groupsClaim);
    this.warnAboutGroups(provider, identity.groupsTruncated, [idToken, userinfo ?? {}]);
    const user = await provisionAccount(this.options.provisioning, provider, identity);
    return { userId: user.id, returnTo: pending.returnTo };
  }

  private provider(providerId: string): SsoProviderConfig {
    const provider = this.byId.get(providerId);
    if (provider === undefined) {
      throw new HubError('HUB_ERR_NOT_FOUND', { message: 'There is no such sign-in provider.' });
    }
    return provider;
  }

  /** Userinfo (OpenID Connect Core §5.3), when the provider has the endpoint; its `sub` must match. */
  private async userinfo(
    configuration: oidc.Configuration,
    accessToken: string,
    subject: string,
  ): Promise<ClaimSet | undefined> {
    if (configuration.serverMetadata().userinfo_endpoint === undefined) return undefined;
    try {
      return await oidc.fetchUserInfo(configuration, accessToken, subject);
    } catch (error) {
      throw refused('HUB_ERR_OAUTH_TOKEN_FAILED', PROVIDER_FAILED, error);
    }
  }

  private warnAboutGroups(provider: SsoProviderConfig, truncated: boolean, sources: ClaimSet[]): void {
    const claim = provider.groupsClaim;
    if (claim === undefined) return;
    if (sources.some((claims) => groupsClaimIsDistributed(claims, claim))) {
      this.options.logger.warn(
        { provider: provider.id, claim },
        'the provider sent the groups claim by reference (too many groups): it is read as empty',
      );
    }
    if (truncated)
      this.options.logger.warn({ provider: provider.id, claim }, 'groups claim cut to its first 500');
  }
}
