import { createHash } from 'node:crypto';
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
  tokens_not_saved: 'You signed in, but the hub could not save the sign-in.',
  sign_in_interrupted: 'This sign-in was interrupted before the hub could save it. Start it again.',
  access_denied: 'Access was denied at the authorization server.',
};

/** The server name as shown: only names that follow the naming rule are echoed at all. */
function safeServerName(value: unknown): string | null {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(value) ? value : null;
}

/**
 * The pages' one stylesheet. Classes for page bodies: `button` (a link or button drawn as the main
 * action), `secondary` (a quieter button), `inline` (a form that sits in a line of text), `alert`
 * (a message about the last attempt), `note` (small print), `providers` (a list of sign-in buttons).
 * Style attributes are not allowed by the CSP: use these classes.
 */
const STYLESHEET =
  ':root{color-scheme:light dark}' +
  'body{font-family:system-ui,sans-serif;line-height:1.5;max-width:32rem;margin:4rem auto;padding:0 1rem}' +
  'h1{font-size:1.5rem;margin-bottom:1.5rem}' +
  'label{display:block;font-weight:600;margin-bottom:.75rem}' +
  'input[type=email],input[type=password],input[type=text]{display:block;box-sizing:border-box;width:100%;' +
  'margin-top:.25rem;padding:.5rem;font:inherit;font-weight:400;border:1px solid #8a8a8a;border-radius:.375rem}' +
  'button,.button{display:inline-block;padding:.5rem 1rem;font:inherit;font-weight:600;text-decoration:none;' +
  'border:1px solid #1f5fbf;border-radius:.375rem;background:#1f5fbf;color:#fff;cursor:pointer}' +
  'button.secondary,.button.secondary{background:transparent;color:inherit;border-color:#8a8a8a}' +
  'form.inline{display:inline;margin:0}' +
  '.alert{padding:.5rem .75rem;border-left:4px solid #c0392b;background:rgba(192,57,43,.08)}' +
  '.note{font-size:.875rem;opacity:.8}' +
  '.providers{list-style:none;padding:0}.providers li{margin:.5rem 0}' +
  '.actions{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}';

/** CSP 3 hash source of a constant: only that exact text may run or apply. */
function hashSource(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/** CSP 3 hash source: the stylesheet is allowed by its digest, so no injected `<style>` could apply. */
const STYLE_SOURCE = hashSource(STYLESHEET);

/**
 * The result pages' one script. Opened as a popup by the hub's own web page (the opener is of this
 * origin), it tells the opener the outcome, with this origin as the only allowed target, and
 * closes itself; anywhere else it stays a plain page. It also says it on a same-origin
 * BroadcastChannel, for a page that opened the flow in a tab it has no handle on. The message
 * carries only what the page shows: success or an error word, and the server name.
 */
export const RESULT_SCRIPT =
  "const el=document.getElementById('oauth-result');" +
  "if(el){const message={type:'switchboard:oauth',ok:el.dataset.ok==='true'," +
  'serverName:el.dataset.serverName??null,error:el.dataset.error??null};' +
  'const origin=window.location.origin;let opened=false;' +
  'try{const opener=window.opener;' +
  'if(opener&&opener!==window&&opener.location.origin===origin){opener.postMessage(message,origin);opened=true}' +
  '}catch{}' +
  "try{const channel=new BroadcastChannel('switchboard-oauth');channel.postMessage(message);channel.close()}catch{}" +
  'if(opened)window.close()}';

/**
 * The pages' CSP: no resource, no plugin, no `<base>`, only the stylesheet above, no script but
 * the one a page names (allowed by its hash: the OAuth result pages'), and no framing by any
 * origin (clickjacking of a sign-in or consent button). No `form-action`: a form's redirect chain
 * may go on to an authorization server or a client's redirect URI, and Chromium checks
 * `form-action` on every redirect of the chain.
 */
function pageCsp(script: string | undefined): string {
  const scriptSource = script === undefined ? '' : ` script-src ${hashSource(script)};`;
  return `default-src 'none';${scriptSource} style-src ${STYLE_SOURCE}; base-uri 'none'; frame-ancestors 'none'`;
}

/** How a page differs from the plain one: a script of its own (allowed by its hash), extra headers. */
interface PageExtras {
  /** Inline script source, run as a module; it must be one of this file's constants (its hash is in the CSP). */
  script?: string;
  /** More response headers. */
  headers?: Record<string, string>;
}

function sendPage(reply: FastifyReply, title: string, body: string, extras: PageExtras = {}): FastifyReply {
  const script = extras.script === undefined ? '' : `<script type="module">${extras.script}</script>`;
  return reply
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', pageCsp(extras.script))
    .headers(extras.headers ?? {})
    .type('text/html; charset=utf-8')
    .send(
      '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
        '<meta name="viewport" content="width=device-width, initial-scale=1">' +
        `<title>${escapeHtml(title)}</title><style>${STYLESHEET}</style>` +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}${script}</body></html>`,
    );
}

/**
 * Sends a small self-contained HTML page: never cached, never leaking its URL as a referrer, and
 * under a CSP that allows no script, no frame and no resource but the page's own stylesheet.
 * `body` is HTML: callers escape whatever text they put in it.
 */
export function page(reply: FastifyReply, title: string, body: string): FastifyReply {
  return sendPage(reply, title, body);
}

/** The message of a known error word, or null. */
function knownError(code: unknown): string | null {
  // Own keys only: `?error=toString` must not reach Object.prototype.
  return (typeof code === 'string' && Object.hasOwn(KNOWN_ERRORS, code) && KNOWN_ERRORS[code]) || null;
}

/** The "Sign-in failed" page for one of the known error words (anything else reads as a generic failure). */
export function failurePage(reply: FastifyReply, code: unknown): FastifyReply {
  return sendPage(reply, 'Sign-in failed', failureBody(code));
}

function failureBody(code: unknown): string {
  const message = knownError(code) ?? 'The sign-in failed.';
  return `<p>${escapeHtml(message)}</p><p>You can close this window and try again.</p>`;
}

/**
 * The answer to a callback whose tokens could not be stored yet (FT-05): the sign-in is still open,
 * so "Try again" sends this very callback URL again (an empty `href` is the page's own URL, query
 * included), and the hub stores the tokens it holds without asking the authorization server again.
 * No result script: a popup must stay open for the retry, and the opener keeps waiting meanwhile.
 */
export function saveRetryPage(reply: FastifyReply): FastifyReply {
  return sendPage(
    reply,
    'Almost connected',
    '<p class="alert">You signed in, but the hub could not save the sign-in just now.</p>' +
      '<p>Try again in a moment: you will not have to sign in again. If it still fails after a few ' +
      'minutes, close this window and start the sign-in again.</p>' +
      '<p class="actions"><a class="button" href="">Try again</a></p>',
  );
}

/**
 * The outcome a result page tells its opener, as data attributes of one element (the script is a
 * constant, so its hash can sit in the CSP; the values are escaped attribute text).
 */
interface ResultData {
  ok: boolean;
  serverName: string | null;
  /** An error word of the callback (`[a-z_]`, bounded), never free text from the URL. */
  error: string | null;
}

function resultMarker(data: ResultData): string {
  const attributes = [
    `data-ok="${data.ok ? 'true' : 'false'}"`,
    data.serverName === null ? '' : ` data-server-name="${escapeHtml(data.serverName)}"`,
    data.error === null ? '' : ` data-error="${escapeHtml(data.error)}"`,
  ].join('');
  return `<div id="oauth-result" hidden ${attributes}></div>`;
}

/**
 * Headers of the result pages. COOP `unsafe-none`: the hub's default (`same-origin`) would put the
 * popup in a browsing context group of its own when it lands here from the authorization server,
 * cutting it off from the page that opened it, which then could neither hear the outcome nor see
 * the window close. These pages hold nothing to protect from an opener.
 */
const RESULT_HEADERS = { 'cross-origin-opener-policy': 'unsafe-none' };

/** `GET /oauth/success` and `GET /oauth/error`: where the callback lands the browser (OA-08, OA-22). */
export const oauthPages: FastifyPluginAsync = async (app) => {
  app.get('/oauth/success', { schema: { hide: true } }, async (request, reply) => {
    const server = safeServerName((request.query as Record<string, unknown>).serverName);
    const what = server ? `<strong>${escapeHtml(server)}</strong> is connected.` : 'The server is connected.';
    return sendPage(
      reply,
      'Connected',
      `<p>${what} You can close this window.</p>${resultMarker({ ok: true, serverName: server, error: null })}`,
      { script: RESULT_SCRIPT, headers: RESULT_HEADERS },
    );
  });

  app.get('/oauth/error', { schema: { hide: true } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const code = query.error;
    // The callback's own words are [a-z_]; anything else is told as a generic failure.
    const error = typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : 'callback_failed';
    const marker = resultMarker({ ok: false, serverName: safeServerName(query.serverName), error });
    return sendPage(reply, 'Sign-in failed', `${failureBody(code)}${marker}`, {
      script: RESULT_SCRIPT,
      headers: RESULT_HEADERS,
    });
  });
};
