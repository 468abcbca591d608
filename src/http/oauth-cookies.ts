import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Settings shared by the OAuth binding and session cookies (API.md "Cookies"). */
export interface OAuthCookieSettings {
  /** HMAC key (derived from JWT_SECRET by the caller). */
  secret: Buffer;
  /** PUBLIC_URL's path prefix ('' at the root), so cookies reach the callback behind a proxy. */
  pathPrefix: string;
  /** Set `Secure` when PUBLIC_URL is https. */
  secure: boolean;
}

const BINDING_TTL_SECONDS = 10 * 60;
const SESSION_TTL_SECONDS = 24 * 60 * 60;
const SESSION_COOKIE = 'sb_session';

/** The binding cookie's name for one server: a browser may run flows for several servers at once. */
function bindingCookieName(serverName: string): string {
  return `sb_oauth_${serverName}`;
}

function hmac(secret: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}\0${value}`).digest('base64url');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Sets and checks the two cookies that let an OAuth callback prove it comes from the browser of the
 * user who started the flow (LibreChat's account-takeover fix): a per-flow binding cookie holding an
 * HMAC of the flow id, and a session cookie holding the user id with its HMAC.
 */
export function createOAuthCookies(settings: OAuthCookieSettings) {
  const base = { httpOnly: true, sameSite: 'lax' as const, secure: settings.secure };
  const bindingPath = `${settings.pathPrefix}/api/mcp`;
  const sessionPath = `${settings.pathPrefix}/api`;

  function sessionUserOf(request: FastifyRequest): string | null {
    const session = request.cookies[SESSION_COOKIE];
    if (!session) return null;
    const [encodedUser, mac] = session.split('.');
    if (!encodedUser || !mac) return null;
    const userId = Buffer.from(encodedUser, 'base64url').toString('utf8');
    return safeEqual(mac, hmac(settings.secret, 'session', userId)) ? userId : null;
  }

  return {
    /** Binds this browser to the caller's flow for `serverName` (flow id `userId:serverName`). */
    bind(reply: FastifyReply, flowId: string, serverName: string): void {
      void reply.setCookie(bindingCookieName(serverName), hmac(settings.secret, 'bind', flowId), {
        ...base,
        path: bindingPath,
        maxAge: BINDING_TTL_SECONDS,
      });
    },
    /** Marks this browser as the user's (accepted by the callback for that user's flows). */
    session(reply: FastifyReply, userId: string): void {
      const value = `${Buffer.from(userId).toString('base64url')}.${hmac(settings.secret, 'session', userId)}`;
      void reply.setCookie(SESSION_COOKIE, value, {
        ...base,
        path: sessionPath,
        maxAge: SESSION_TTL_SECONDS,
      });
    },
    /** True when the request carries this flow's binding cookie, or a session cookie of the flow's user. */
    isBound(request: FastifyRequest, flow: { flowId: string; userId: string }, serverName: string): boolean {
      const binding = request.cookies[bindingCookieName(serverName)];
      if (binding && safeEqual(binding, hmac(settings.secret, 'bind', flow.flowId))) return true;
      return sessionUserOf(request) === flow.userId;
    },
    /** The user whose valid session cookie the request carries; null without one. */
    sessionUser: sessionUserOf,
    /** Clears the binding cookie once checked (single use). */
    clearBinding(reply: FastifyReply, serverName: string): void {
      void reply.clearCookie(bindingCookieName(serverName), { ...base, path: bindingPath });
    },
  };
}

/** The cookie helpers' type. */
export type OAuthCookies = ReturnType<typeof createOAuthCookies>;
