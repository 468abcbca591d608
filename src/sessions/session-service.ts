import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity, IdentityService } from '../auth/index.js';
import type { Clock, Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import type { BrowserSessionRecord, BrowserSessionsRepository, UsersRepository } from '../store/index.js';
import {
  cookieTokens,
  hashToken,
  mintToken,
  sessionCookieSettings,
  type SessionCookieSettings,
} from './session-cookie.js';

/** A live browser session, as routes see it. */
export interface SessionUser {
  userId: string;
  /** The user's email now (for "signed in as"). */
  email: string;
  /** The session's synchronizer CSRF token (pages put it in a hidden `_csrf` field; the API wants `X-CSRF-Token`). */
  csrfToken: string;
  method: 'password' | 'sso';
  provider: string | null;
}

/** How a browser proved who it is when it signed in. */
export type SignInMethod = { method: 'password' } | { method: 'sso'; provider: string };

/** Server-side browser sessions behind an HttpOnly cookie. */
export interface BrowserSessions {
  /** The request's live session (cookie valid, not expired or idle, user enabled, token epoch unchanged), or null. */
  current(request: FastifyRequest): Promise<SessionUser | null>;
  /** Signs this browser in as `userId`: ends any session the request carries (rotation), creates one, sets the cookie. */
  signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    via: SignInMethod,
  ): Promise<SessionUser>;
  /** Ends the request's session (row deleted, cookie cleared). */
  signOut(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** True when `token` (header or form field) is this session's CSRF token (constant-time compare). */
  csrfOk(session: SessionUser, token: string | undefined): boolean;
  /**
   * The request's session and the identity of its user, as a bearer token would give it; null
   * without a live session. Tells the hub the user is here (as every authenticated request does).
   */
  authenticate(request: FastifyRequest): Promise<{ session: SessionUser; identity: Identity } | null>;
}

/** A session ends after this long without a request. */
export const SESSION_IDLE_TIMEOUT_MS = 12 * 60 * 60_000;
/** A session ends this long after sign-in, however active. */
export const SESSION_LIFETIME_MS = 7 * 24 * 60 * 60_000;
/** `last_seen_at` is written at most this often: one write a minute per busy browser, not one per request. */
const TOUCH_INTERVAL_MS = 60_000;
/** Expired rows are swept at most this often per instance (on a sign-in, not on a timer). */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** What {@link SessionService} is built from. */
export interface SessionServiceOptions {
  sessions: BrowserSessionsRepository;
  users: Pick<UsersRepository, 'findById'>;
  identity: Pick<IdentityService, 'identityOf'>;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** PUBLIC_URL: decides the cookie's name, `Secure` and path. */
  publicUrl: string;
  /** Called with the identity of every request a session authenticates. */
  onAuthenticated?: ((who: Identity) => void) | undefined;
  /** Overrides {@link SESSION_IDLE_TIMEOUT_MS}. */
  idleTimeoutMs?: number | undefined;
  /** Overrides {@link SESSION_LIFETIME_MS}. */
  lifetimeMs?: number | undefined;
}

/**
 * Browser sessions stored in the database, so any instance serves any browser. The cookie holds
 * 256 random bits; the row holds their SHA-256, the user's token epoch at sign-in (a password
 * change, disable or removal ends the session as it ends bearer tokens) and the CSRF token.
 */
export class SessionService implements BrowserSessions {
  readonly #options: SessionServiceOptions;
  readonly #cookie: SessionCookieSettings;
  readonly #idleMs: number;
  readonly #lifetimeMs: number;
  /** One lookup per request however many hooks and handlers ask; sign-in and sign-out replace it. */
  readonly #byRequest = new WeakMap<FastifyRequest, Promise<SessionUser | null>>();
  #nextSweepAt = 0;

  constructor(options: SessionServiceOptions) {
    this.#options = options;
    this.#cookie = sessionCookieSettings(options.publicUrl);
    this.#idleMs = options.idleTimeoutMs ?? SESSION_IDLE_TIMEOUT_MS;
    this.#lifetimeMs = options.lifetimeMs ?? SESSION_LIFETIME_MS;
  }

  /** The cookie's name (for tests and documentation). */
  get cookieName(): string {
    return this.#cookie.name;
  }

  current(request: FastifyRequest): Promise<SessionUser | null> {
    let found = this.#byRequest.get(request);
    if (found === undefined) {
      found = this.#lookUp(request);
      this.#byRequest.set(request, found);
    }
    return found;
  }

  async signIn(
    request: FastifyRequest,
    reply: FastifyReply,
    userId: string,
    via: SignInMethod,
  ): Promise<SessionUser> {
    // Session fixation: whatever session the browser brought is ended, never upgraded.
    await this.#endCarried(request);
    const user = await this.#options.users.findById(userId);
    if (user === null) throw new HubError('HUB_ERR_USER_NOT_FOUND');
    if (user.disabledAt !== null) throw new HubError('HUB_ERR_ACCOUNT_DISABLED');
    const now = this.#options.clock.now();
    await this.#sweep(now);
    const token = mintToken(this.#options.random);
    const record: BrowserSessionRecord = {
      idHash: hashToken(token),
      userId: user.id,
      tokenEpoch: user.tokenEpoch,
      csrfToken: mintToken(this.#options.random),
      method: via.method,
      provider: via.method === 'sso' ? via.provider : null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.#lifetimeMs,
    };
    await this.#options.sessions.create(record);
    // The browser may keep it across restarts until the absolute end; the server enforces idleness.
    void reply.setCookie(this.#cookie.name, token, {
      ...this.#cookie.attributes,
      maxAge: Math.floor(this.#lifetimeMs / 1000),
    });
    const session = toSessionUser(record, user.email);
    this.#byRequest.set(request, Promise.resolve(session));
    return session;
  }

  async signOut(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.#endCarried(request);
    void reply.clearCookie(this.#cookie.name, this.#cookie.attributes);
    this.#byRequest.set(request, Promise.resolve(null));
  }

  csrfOk(session: SessionUser, token: string | undefined): boolean {
    if (typeof token !== 'string') return false;
    const expected = Buffer.from(session.csrfToken);
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  async authenticate(request: FastifyRequest): Promise<{ session: SessionUser; identity: Identity } | null> {
    const session = await this.current(request);
    if (session === null) return null;
    const identity = await this.#options.identity.identityOf(session.userId);
    if (identity === null) return null;
    this.#options.onAuthenticated?.(identity);
    return { session, identity };
  }

  async #lookUp(request: FastifyRequest): Promise<SessionUser | null> {
    for (const token of cookieTokens(request, this.#cookie.name)) {
      const found = await this.#live(hashToken(token));
      if (found !== null) return found;
    }
    return null;
  }

  /** The session stored under `idHash` if it still counts; a dead one is deleted on sight. */
  async #live(idHash: string): Promise<SessionUser | null> {
    const { sessions, users, clock } = this.#options;
    const record = await sessions.findByHash(idHash);
    if (record === null) return null;
    const now = clock.now();
    const user =
      record.expiresAt > now && now - record.lastSeenAt < this.#idleMs
        ? await users.findById(record.userId)
        : null;
    // A raised epoch is a password change or a disable since sign-in (as for bearer tokens).
    if (user === null || user.disabledAt !== null || user.tokenEpoch !== record.tokenEpoch) {
      await sessions.delete(idHash);
      return null;
    }
    if (now - record.lastSeenAt >= TOUCH_INTERVAL_MS) await sessions.touch(idHash, now);
    return toSessionUser(record, user.email);
  }

  async #endCarried(request: FastifyRequest): Promise<void> {
    for (const token of cookieTokens(request, this.#cookie.name)) {
      await this.#options.sessions.delete(hashToken(token));
    }
  }

  /** Deletes rows nobody can use any more; a failure only delays it to a later sign-in. */
  async #sweep(now: number): Promise<void> {
    if (now < this.#nextSweepAt) return;
    this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
    try {
      const removed = await this.#options.sessions.deleteExpired(now, now - this.#idleMs);
      if (removed > 0) this.#options.logger.debug({ removed }, 'expired browser sessions deleted');
    } catch (err) {
      this.#options.logger.warn({ err }, 'could not delete expired browser sessions');
    }
  }
}

function toSessionUser(record: BrowserSessionRecord, email: string): SessionUser {
  return {
    userId: record.userId,
    email,
    csrfToken: record.csrfToken,
    method: record.method,
    provider: record.provider,
  };
}
