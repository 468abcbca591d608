import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock, Random } from '../core/index.js';
import { createCookieSigner, createFlowBinding, parseFlowId } from '../oauth/index.js';

/** Settings shared by the OAuth binding and session cookies. */
export interface OAuthCookieSettings {
  /** HMAC key (derived from JWT_SECRET by the caller). */
  secret: Buffer;
  /** PUBLIC_URL's path prefix ('' at the root), so cookies reach the callback behind a proxy. */
  pathPrefix: string;
  /** Set `Secure` when PUBLIC_URL is https. */
  secure: boolean;
  /** Stamps each value's expiry and checks it on the way back. */
  clock: Clock;
  /** Draws each value's nonce. */
  random: Random;
}

const BINDING_TTL_SECONDS = 10 * 60;
const SESSION_TTL_SECONDS = 24 * 60 * 60;
const SESSION_COOKIE = 'sb_session';
const SESSION_PURPOSE = 'oauth-session';

/** The binding cookie's name for one server: a browser may run flows for several servers at once. */
function bindingCookieName(serverName: string): string {
  return `sb_oauth_${serverName}`;
}

/**
 * Sets and checks the two cookies that let an OAuth callback prove it comes from the browser of the
 * user who started the flow (LibreChat's account-takeover fix): a per-flow binding cookie, and a
 * session cookie holding the user id. Each value carries its own expiry and a random nonce under
 * the MAC (V-10): no two are alike, and the server refuses one past its expiry whatever the browser
 * keeps.
 */
export function createOAuthCookies(settings: OAuthCookieSettings) {
  const base = { httpOnly: true, sameSite: 'lax' as const, secure: settings.secure };
  const bindingPath = `${settings.pathPrefix}/api/mcp`;
  const sessionPath = `${settings.pathPrefix}/api`;
  const deps = { clock: settings.clock, random: settings.random };
  const binding = createFlowBinding(settings.secret, { ...deps, ttlMs: BINDING_TTL_SECONDS * 1000 });
  const signer = createCookieSigner(settings.secret, deps);

  function sessionUserOf(request: FastifyRequest): string | null {
    const session = request.cookies[SESSION_COOKIE];
    if (!session) return null;
    // `<base64url user id>.<signed value>`: base64url has no '.', so the first one ends the id.
    const dot = session.indexOf('.');
    if (dot <= 0) return null;
    const userId = Buffer.from(session.slice(0, dot), 'base64url').toString('utf8');
    return signer.verify(SESSION_PURPOSE, userId, session.slice(dot + 1)) ? userId : null;
  }

  return {
    /** Binds this browser to the caller's flow for `serverName` (flow id `userId:serverName`). */
    bind(reply: FastifyReply, flowId: string, serverName: string): void {
      void reply.setCookie(bindingCookieName(serverName), binding.value(flowId), {
        ...base,
        path: bindingPath,
        maxAge: BINDING_TTL_SECONDS,
      });
    },
    /** Marks this browser as the user's (accepted by the callback for that user's flows). */
    session(reply: FastifyReply, userId: string): void {
      const signed = signer.mint(SESSION_PURPOSE, userId, SESSION_TTL_SECONDS * 1000);
      void reply.setCookie(SESSION_COOKIE, `${Buffer.from(userId).toString('base64url')}.${signed}`, {
        ...base,
        path: sessionPath,
        maxAge: SESSION_TTL_SECONDS,
      });
    },
    /**
     * True when the request carries this flow's binding cookie, or a session cookie of the flow's
     * user. The binding cookie is found by the flow's server, so a callback path that names no
     * server (users' servers share one) finds it too.
     */
    isBound(request: FastifyRequest, flow: { flowId: string; userId: string }): boolean {
      const serverName = parseFlowId(flow.flowId)?.serverName;
      const value = serverName === undefined ? undefined : request.cookies[bindingCookieName(serverName)];
      if (binding.verify(flow.flowId, value)) return true;
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
