import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { escapeHtml } from '../http/index.js';
import { MCP_SCOPE } from './resources.js';

/** oidc-provider's error page, in the hub's plain style, with nothing but escaped text. */
export function renderError(
  ctx: KoaContextWithOIDC,
  out: { error: string; error_description?: string | undefined },
): void {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
  );
  const description = out.error_description ?? 'The request could not be completed.';
  ctx.body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization failed</title>' +
    '<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style>' +
    `</head><body><h1>Authorization failed</h1><p>${escapeHtml(description)}</p>` +
    `<p><small>${escapeHtml(out.error)}</small></p>` +
    '<p>Nothing was sent to the application. You can close this window.</p></body></html>';
}

/**
 * The hub's additions in front of oidc-provider's router: a default scope, CORS for open
 * registration, and headers that keep every answer out of frames.
 */
export function installProviderMiddleware(provider: Provider): void {
  // RFC 6749 §3.3: a request without `scope` is processed with a default. An MCP client that found
  // no scope to ask for (none in the challenge, none in the resource metadata) omits it, and
  // without a default its token would carry no scope at all.
  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/oauth2/authorize' && ctx.query.scope === undefined) {
      ctx.query = { ...ctx.query, scope: MCP_SCOPE };
    }
    await next();
  });
  // Open registration from a browser-based client (RFC 7591 needs no credentials, so any origin
  // may register; nothing it gets back is usable without the user's consent). oidc-provider
  // answers CORS for discovery, token and revocation itself, but not for registration.
  provider.use(async (ctx, next) => {
    if (ctx.path !== '/oauth2/register' || ctx.get('origin') === '') {
      await next();
      return;
    }
    ctx.set('access-control-allow-origin', '*');
    if (ctx.method !== 'OPTIONS') {
      await next();
      return;
    }
    ctx.set('access-control-allow-methods', 'POST');
    ctx.set('access-control-allow-headers', 'content-type');
    ctx.set('access-control-max-age', '3600');
    ctx.status = 204;
  });
  // Every answer of the authorization server refuses framing (clickjacking of its pages).
  provider.use(async (ctx, next) => {
    await next();
    // Koa answers undefined, not '', for a header that was never set.
    const policy: unknown = ctx.response.get('content-security-policy');
    if (typeof policy !== 'string' || policy === '')
      ctx.set('content-security-policy', "frame-ancestors 'none'");
    else if (!policy.includes('frame-ancestors'))
      ctx.set('content-security-policy', `${policy}; frame-ancestors 'none'`);
    ctx.set('x-frame-options', 'DENY');
    ctx.set('x-content-type-options', 'nosniff');
  });
}
