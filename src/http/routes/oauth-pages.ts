import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Characters that would let text escape an HTML text node or attribute. */
const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Only these words are shown as the error; anything else an attacker put in the URL becomes generic. */
const KNOWN_ERRORS: Record<string, string> = {
  missing_code: 'The authorization server did not return a code.',
  missing_state: 'The callback carried no state.',
  invalid_state: 'This sign-in link is unknown, expired or was already used.',
  csrf_validation_failed:
    'This sign-in was started in another browser or by another user, so it was refused.',
  callback_failed: 'The sign-in could not be completed.',
  access_denied: 'Access was denied at the authorization server.',
};

/** The server name as shown: only names that follow the naming rule are echoed at all. */
function safeServerName(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value) ? value : null;
}

/**
 * Sends a small self-contained HTML page: never cached, never leaking its URL as a referrer, and
 * under a CSP that allows no script, no frame and no resource but inline style. `body` is HTML:
 * callers escape whatever text they put in it.
 */
export function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        '<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}</style>' +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

/** The "Sign-in failed" page for one of the known error words (anything else reads as a generic failure). */
export function failurePage(reply: FastifyReply, code: unknown): FastifyReply {
  // Own keys only: `?error=toString` must not reach Object.prototype.
  const message =
    (typeof code === 'string' && Object.hasOwn(KNOWN_ERRORS, code) && KNOWN_ERRORS[code]) ||
    'The sign-in failed.';
  return page(
    reply,
    'Sign-in failed',
    `<p>${escapeHtml(message)}</p><p>You can close this window and try again.</p>`,
  );
}

/** `GET /oauth/success` and `GET /oauth/error`: where the callback lands the browser (OA-08, OA-22). */
export const oauthPages: FastifyPluginAsync = async (app) => {
  app.get('/oauth/success', { schema: { hide: true } }, async (request, reply) => {
    const server = safeServerName((request.query as Record<string, unknown>).serverName);
    const what = server ? `<strong>${escapeHtml(server)}</strong> is connected.` : 'The server is connected.';
    return page(reply, 'Connected', `<p>${what} You can close this window.</p>`);
  });

  app.get('/oauth/error', { schema: { hide: true } }, async (request, reply) =>
    failurePage(reply, (request.query as Record<string, unknown>).error),
  );
};
