import { refreshAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { FetchLike } from '../connections/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { forcedClientAuth } from './client-auth.js';
import { needsAuthKey, refreshLockName } from './flow-ids.js';
import type { ResolvedClient } from './clients.js';
import { sdkClient } from './flow-secrets.js';
import { toSdkMetadata } from './metadata.js';
import { oauthFetch, observeStatus } from './oauth-fetch.js';
import type { OAuthParts } from './parts.js';
import {
  refreshAudience,
  refreshWaitMs,
  resourceOption,
  sendsResource,
  withFormParams,
} from './request-options.js';
import { sameOrigin } from './safe-urls.js';
import { classifyTokenFailure } from './token-errors.js';
import { expiryFrom, isFresh, isUnexpired } from './token-expiry.js';
import type { StoredTokens } from './token-store.js';
import type { AuthorizationServerInfo, OAuthServerContext } from './types.js';

/** Access tokens on demand: refresh ahead of expiry and after a 401, once per cluster. */
export interface TokenRefresher {
  getAccessToken(ctx: OAuthServerContext): Promise<string | null>;
  refreshAfterUnauthorized(ctx: OAuthServerContext & { rejectedToken: string }): Promise<string | null>;
}

/** True when `as` is the AS the tokens came from; tokens never go to another (OA-17). */
export function issuedBy(as: AuthorizationServerInfo, issuer: string): boolean {
  return as.issuerMatch === 'exact' ? as.issuer === issuer : sameOrigin(as.issuer, issuer);
}

/** Builds the {@link TokenRefresher}. */
export function createTokenRefresher(parts: OAuthParts): TokenRefresher {
  return new LockedTokenRefresher(parts);
}

/** What one refresh request to the token endpoint gave: new tokens, or a refused grant. */
type RefreshOutcome = { kind: 'issued'; tokens: OAuthTokens } | { kind: 'refused' };

/**
 * Refreshes ahead of expiry and after a 401. Callers in this process share one refresh per (user,
 * server) through `inflight`; other instances are held off by a KV lock, and whoever gets the lock
 * second re-reads the store and uses the tokens the first one stored.
 */
class LockedTokenRefresher implements TokenRefresher {
  /** The refresh running in this process, per user and server. */
  private readonly inflight = new Map<string, Promise<string | null>>();

  constructor(private readonly parts: OAuthParts) {}

  async getAccessToken(ctx: OAuthServerContext): Promise<string | null> {
    const current = await this.parts.tokens.load(ctx);
    if (!current) return null;
    const fresh = (t: StoredTokens): boolean =>
      isFresh(t, this.parts.clock.now(), this.parts.settings.expirySkewMs);
    if (fresh(current)) return current.access_token;
    if (current.refresh_token === undefined) {
      if (isUnexpired(current, this.parts.clock.now())) return current.access_token;
      return this.giveUp(ctx);
    }
    return this.singleFlight(ctx, () => this.lockedRefresh(ctx, fresh));
  }

  async refreshAfterUnauthorized(
    ctx: OAuthServerContext & { rejectedToken: string },
  ): Promise<string | null> {
    // The store, not this instance's cache: another instance may have refreshed since.
    const current = await this.parts.tokens.load(ctx, { fresh: true });
    if (!current) return null;
    // FT-08: someone refreshed since the request went out; use theirs, do not refresh again.
    if (current.access_token !== ctx.rejectedToken) return current.access_token;
    if (current.refresh_token === undefined) return this.giveUp(ctx);
    return this.singleFlight(ctx, () => this.lockedRefresh(ctx, (t) => t.access_token !== ctx.rejectedToken));
  }

  private singleFlight(ctx: OAuthServerContext, run: () => Promise<string | null>): Promise<string | null> {
    const key = `${ctx.userId}\u0000${ctx.serverName}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const started = run().finally(() => this.inflight.delete(key));
    this.inflight.set(key, started);
    return started;
  }

  /** OA-20: a refused grant ends here: no tokens, `needs_auth` remembered, no retry loop. */
  private async giveUp(ctx: OAuthServerContext): Promise<null> {
    await this.parts.tokens.deleteAll(ctx.userId, ctx.serverName);
    await this.parts.kv.set(needsAuthKey(ctx.userId, ctx.serverName), '1', {
      ttlMs: this.parts.settings.needsAuthTtlMs,
    });
    return null;
  }

  /** The stored access token when it satisfies `goodEnough` (someone else refreshed), else null. */
  private async theirs(
    ctx: OAuthServerContext,
    goodEnough: (t: StoredTokens) => boolean,
  ): Promise<string | null> {
    const current = await this.parts.tokens.load(ctx, { fresh: true });
    return current && goodEnough(current) ? current.access_token : null;
  }

  private async lockedRefresh(
    ctx: OAuthServerContext,
    goodEnough: (t: StoredTokens) => boolean,
  ): Promise<string | null> {
    const { settings, tokens } = this.parts;
    let as: AuthorizationServerInfo;
    try {
      // Discovery (several requests when not cached) runs before the lock, so the lock's TTL only
      // has to cover the token requests themselves.
      as = (await this.parts.discovery.discover(ctx)).authorizationServer;
    } catch (error) {
      const refreshed = await this.theirs(ctx, goodEnough);
      if (refreshed !== null) return refreshed;
      throw error;
    }
    const lock = {
      ttlMs: settings.refreshLockTtlMs,
      waitMs: refreshWaitMs(ctx.config, settings.refreshLockWaitMs),
    };
    try {
      return await this.parts.kv.withLock(refreshLockName(ctx.userId, ctx.serverName), lock, async () => {
        // LD-04/05: re-read under the lock; another instance may have refreshed (and rotated) already.
        const current = await tokens.load(ctx, { fresh: true });
        if (!current) return null;
        if (goodEnough(current)) return current.access_token;
        if (current.refresh_token === undefined) return this.giveUp(ctx);
        return this.refresh(ctx, as, current, current.refresh_token);
      });
    } catch (error) {
      if (!isHubError(error, 'HUB_ERR_CONFLICT')) throw error;
      const refreshed = await this.theirs(ctx, goodEnough);
      if (refreshed !== null) return refreshed;
      throw new HubError('HUB_ERR_OAUTH_TOKEN_FAILED', {
        message: 'Token refresh is taking too long; retry later',
      });
    }
  }

  private async refresh(
    ctx: OAuthServerContext,
    as: AuthorizationServerInfo,
    current: StoredTokens,
    refreshToken: string,
  ): Promise<string | null> {
    const { logger, clock } = this.parts;
    if (!issuedBy(as, current.issuer)) {
      logger.warn(
        { userId: ctx.userId, serverName: ctx.serverName },
        'OAuth AS changed; tokens of the old one dropped',
      );
      return this.giveUp(ctx);
    }
    const client = await this.parts.clients.existing({
      serverName: ctx.serverName,
      config: ctx.config,
      as,
      ref: current.clientRef,
    });
    if (!client) {
      logger.warn({ userId: ctx.userId, serverName: ctx.serverName }, 'OAuth client for the tokens is gone');
      return this.giveUp(ctx);
    }
    const outcome = await this.requestTokens(ctx, as, client, current, refreshToken);
    if (outcome.kind === 'refused') return this.giveUp(ctx);
    const issued = outcome.tokens;
    const next: StoredTokens = {
      access_token: issued.access_token,
      token_type: issued.token_type,
      scope: issued.scope ?? current.scope,
      expires_at: expiryFrom(issued.expires_in, clock.now()),
      obtained_at: clock.now(),
      issuer: current.issuer,
      resource: current.resource,
      clientRef: current.clientRef,
      binding: current.binding,
      // OA-19: the rotated refresh token, when the AS sent one (the SDK keeps the old one otherwise).
      ...(issued.refresh_token === undefined ? {} : { refresh_token: issued.refresh_token }),
    };
    await this.saveRefreshed(ctx, next);
    await this.parts.kv.delete(needsAuthKey(ctx.userId, ctx.serverName));
    logger.info(
      { userId: ctx.userId, serverName: ctx.serverName, rotated: issued.refresh_token !== refreshToken },
      'OAuth tokens refreshed',
    );
    return next.access_token;
  }

  /**
   * The refresh-token grant (RFC 6749 §6), retried on transient failures with back-off. The request
   * timeout bounds the whole exchange, retries included: a hung token endpoint is waited for once,
   * not once per attempt, so the caller's answer never waits longer than that.
   */
  private async requestTokens(
    ctx: OAuthServerContext,
    as: AuthorizationServerInfo,
    client: ResolvedClient,
    current: StoredTokens,
    refreshToken: string,
  ): Promise<RefreshOutcome> {
    const { settings, logger } = this.parts;
    const audience = refreshAudience(ctx.config);
    const budget = AbortSignal.timeout(settings.requestTimeoutMs);
    const fetch = withFormParams(
      withSignal(
        oauthFetch(this.parts.fetchFor(ctx.serverName), ctx.config.oauth_headers, settings.requestTimeoutMs),
        budget,
      ),
      audience === undefined ? {} : { audience },
    );
    for (let attempt = 1; ; attempt += 1) {
      const observed = observeStatus(fetch);
      try {
        const tokens = await refreshAuthorization(as.issuer, {
          metadata: toSdkMetadata(as),
          clientInformation: sdkClient(client, this.parts.redirectUri(ctx.serverName)),
          refreshToken,
          // The stored resource stays what the hub meant even when the parameter is not sent.
          ...resourceOption(sendsResource(ctx.config), current.resource),
          fetchFn: observed.fetch,
          ...(client.forcedAuthMethod === undefined
            ? {}
            : { addClientAuthentication: forcedClientAuth(client.forcedAuthMethod, client) }),
        });
        return { kind: 'issued', tokens };
      } catch (error) {
        const failure = classifyTokenFailure(error, observed.lastStatus());
        logger.warn(
          {
            userId: ctx.userId,
            serverName: ctx.serverName,
            attempt,
            failure: failure.kind,
            status: 'status' in failure ? failure.status : undefined,
            oauthError: failure.kind === 'rejected' ? failure.oauthError : undefined,
          },
          'OAuth token refresh failed',
        );
        if (failure.kind === 'rejected') return { kind: 'refused' };
        if (failure.kind === 'transient' && attempt < settings.refreshAttempts && !budget.aborted) {
          await this.parts.sleep(backoff(this.parts, attempt));
          continue;
        }
        // FT-09: bounded, then a typed error; the tokens stay for the next try.
        throw new HubError('HUB_ERR_OAUTH_TOKEN_FAILED');
      }
    }
  }

  /**
   * The AS already rotated the refresh token: losing this write would strand the user with a dead
   * one, so a failed write is tried once more before the error surfaces.
   */
  private async saveRefreshed(ctx: OAuthServerContext, next: StoredTokens): Promise<void> {
    const { tokens, logger } = this.parts;
    try {
      await tokens.save(ctx.userId, ctx.serverName, next);
    } catch (error) {
      logger.warn(
        {
          userId: ctx.userId,
          serverName: ctx.serverName,
          errorName: error instanceof Error ? error.name : undefined,
        },
        'Storing refreshed OAuth tokens failed; retrying once',
      );
      await this.parts.sleep(this.parts.settings.retryBaseMs);
      await tokens.save(ctx.userId, ctx.serverName, next);
    }
  }
}

/** `base` with `signal` added to every request's own, so one deadline covers them all. */
function withSignal(base: FetchLike, signal: AbortSignal): FetchLike {
  return (url, init) =>
    base(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
}

/** Exponential back-off with full jitter, so retrying instances do not move in step. */
function backoff(parts: OAuthParts, attempt: number): number {
  const ceiling = parts.settings.retryBaseMs * 2 ** (attempt - 1);
  return Math.floor((parts.random.bytes(4).readUInt32BE(0) / 0x1_0000_0000) * ceiling);
}
