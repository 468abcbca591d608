import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock, Random } from '../core/index.js';
import { createFlowBinding, parseFlowId } from '../oauth/index.js';

/** Settings of the OAuth binding cookie. */
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

/** The binding cookie's name for one server: a browser may run flows for several servers at once. */
function bindingCookieName(serverName: string): string {
  return `sb_oauth_${serverName}`;
}

/**
 * Sets and checks the per-flow binding cookie that lets an OAuth callback prove it comes from the
 * browser that started the flow (LibreChat's account-takeover fix). Each value carries its own
 * expiry and a random nonce under the MAC (V-10): no two are alike, and the server refuses one past
 * its expiry whatever the browser keeps. The other proof a callback accepts, the browser session of
 * the flow's user, is the hub's one sign-in cookie (see `src/sessions`), not a cookie of its own.
 */
export function createOAuthCookies(settings: OAuthCookieSettings) {
  const base = { httpOnly: true, sameSite: 'lax' as const, secure: settings.secure };
  const bindingPath = `${settings.pathPrefix}/api/mcp`;
  const deps = { clock: settings.clock, random: settings.random };
  const binding = createFlowBinding(settings.secret, { ...deps, ttlMs: BINDING_TTL_SECONDS * 1000 });

  return {
    /** Binds this browser to the caller's flow for `serverName` (flow id `userId:serverName`). */
    bind(reply: FastifyReply, flowId: string, serverName: string): void {
      void reply.setCookie(bindingCookieName(serverName), binding.value(flowId), {
        ...base,
        path: bindingPath,
        maxAge: BINDING_TTL_SECONDS,
      });
    },
    /**
     * True when the request carries this flow's binding cookie. It is found by the flow's server,
     * so a callback path that names no server (users' servers share one) finds it too.
     */
    isBound(request: FastifyRequest, flow: { flowId: string }): boolean {
      const serverName = parseFlowId(flow.flowId)?.serverName;
      const value = serverName === undefined ? undefined : request.cookies[bindingCookieName(serverName)];
      return binding.verify(flow.flowId, value);
    },
    /** Clears the binding cookie once checked (single use). */
    clearBinding(reply: FastifyReply, serverName: string): void {
      void reply.clearCookie(bindingCookieName(serverName), { ...base, path: bindingPath });
    },
  };
}

/** The cookie helper's type. */
export type OAuthCookies = ReturnType<typeof createOAuthCookies>;
