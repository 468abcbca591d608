/** One stored cookie (host-only: a `Domain` attribute is ignored, the jar keys cookies by origin). */
interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
  /** Epoch milliseconds; `null` for a session cookie. */
  readonly expiresAt: number | null;
}

/** RFC 6265 §5.1.4 default-path: the request path up to, not including, its last `/`. */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

/**
 * A minimal cookie jar for a headless "browser": cookies are kept per origin (scheme, host and
 * port), honour `Path`, `Max-Age` and `Expires`, and ignore `Domain`, `Secure` and `SameSite`
 * (every peer is plain http on 127.0.0.1, and every request here is a top-level navigation).
 */
export class CookieJar {
  readonly #byOrigin = new Map<string, Map<string, StoredCookie>>();

  /** Stores the `Set-Cookie` headers of a response to `url`. */
  store(url: string | URL, headers: Headers): void {
    const target = new URL(url);
    let cookies = this.#byOrigin.get(target.origin);
    if (cookies === undefined) {
      cookies = new Map();
      this.#byOrigin.set(target.origin, cookies);
    }
    for (const line of headers.getSetCookie()) {
      const cookie = parseSetCookie(line, target.pathname);
      if (cookie === null) continue;
      const key = `${cookie.path}\u0000${cookie.name}`;
      if (cookie.expiresAt !== null && cookie.expiresAt <= Date.now()) cookies.delete(key);
      else cookies.set(key, cookie);
    }
  }

  /** The `Cookie` header value for a request to `url` (`''` when no cookie applies). */
  header(url: string | URL): string {
    return this.#matching(new URL(url))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  /** The value of the cookie `name` that a request to `url` would carry, if any. */
  get(url: string | URL, name: string): string | undefined {
    return this.#matching(new URL(url)).find((cookie) => cookie.name === name)?.value;
  }

  /** Forgets every cookie. */
  clear(): void {
    this.#byOrigin.clear();
  }

  #matching(target: URL): StoredCookie[] {
    const now = Date.now();
    const cookies = [...(this.#byOrigin.get(target.origin)?.values() ?? [])];
    return (
      cookies
        .filter((cookie) => cookie.expiresAt === null || cookie.expiresAt > now)
        .filter((cookie) => pathMatches(target.pathname, cookie.path))
        // RFC 6265 §5.4: longer paths first.
        .sort((a, b) => b.path.length - a.path.length)
    );
  }
}

function parseSetCookie(line: string, requestPath: string): StoredCookie | null {
  const [pair = '', ...attributes] = line.split(';');
  const equals = pair.indexOf('=');
  if (equals <= 0) return null;
  const name = pair.slice(0, equals).trim();
  const value = pair.slice(equals + 1).trim();
  let path = defaultPath(requestPath);
  let maxAge: number | null = null;
  let expires: number | null = null;
  for (const attribute of attributes) {
    const at = attribute.indexOf('=');
    const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
    const raw = at === -1 ? '' : attribute.slice(at + 1).trim();
    if (key === 'path' && raw.startsWith('/')) path = raw;
    else if (key === 'max-age' && /^-?\d+$/.test(raw)) maxAge = Number(raw);
    else if (key === 'expires' && !Number.isNaN(Date.parse(raw))) expires = Date.parse(raw);
  }
  // RFC 6265 §5.3: Max-Age wins over Expires.
  const expiresAt = maxAge !== null ? Date.now() + maxAge * 1000 : expires;
  return { name, value, path, expiresAt };
}

/** Options of {@link authorizeInBrowser}. */
export interface AuthorizeInBrowserOptions {
  /** The account to log in as (`alice` or `bob` at the test AS); added as `login_hint` when absent. */
  readonly loginHint: 'alice' | 'bob' | (string & {});
  /** The client's redirect URI (or a prefix of it): the chain stops at a `Location` starting with it. */
  readonly redirectUriPrefix: string;
  /** The browser's cookies; a fresh jar when absent (a new browser, nobody logged in at the AS). */
  readonly jar?: CookieJar;
  /** Requests made after the first one, at most (redirects and auto-submitted forms). Default 20. */
  readonly maxHops?: number;
  /** Time allowed for the whole chain, in ms. Default 10 000. */
  readonly timeoutMs?: number;
}

/** What {@link authorizeInBrowser} returns. */
export interface BrowserAuthorization {
  /** The redirect to the client's callback (with `code`, `state`, `iss`, or an `error`), not followed. */
  readonly callbackUrl: string;
  /** The jar after the chain (holding the AS session, so a second authorization skips the login). */
  readonly jar: CookieJar;
  /** The requests made, as `METHOD /path` (no query: it holds codes and states), in order. */
  readonly visited: readonly string[];
}

function unescapeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A page's auto-submitting POST form (what a browser with scripts would send next), if any. */
interface AutoSubmitForm {
  readonly action: string;
  readonly fields: URLSearchParams;
}

function findPostForm(html: string): AutoSubmitForm | null {
  const form = /<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (form?.[1] === undefined) return null;
  const fields = new URLSearchParams();
  for (const input of (form[2] ?? '').matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
    if (name !== undefined) fields.append(unescapeHtml(name), unescapeHtml(value));
  }
  return { action: unescapeHtml(form[1]), fields };
}

/**
 * A tiny headless browser for the authorization step: opens `authorizationUrl` (with `login_hint`
 * added when absent) and follows the redirect chain by hand (`redirect: 'manual'`), carrying
 * cookies per origin, until a `Location` starts with `redirectUriPrefix`; that URL is returned
 * unfollowed, so the test can deliver it to the client with the cookies of the browser it wants.
 * A page holding an auto-submitting POST form is submitted, as a browser's script would (the AS
 * ends the previous session that way when another account logs in). Only 127.0.0.1 URLs are
 * fetched. Throws on any other answer (with its status and the start of its body), after
 * `maxHops` requests, or after `timeoutMs`.
 */
export async function authorizeInBrowser(
  authorizationUrl: string,
  options: AuthorizeInBrowserOptions,
): Promise<BrowserAuthorization> {
  const jar = options.jar ?? new CookieJar();
  const maxHops = options.maxHops ?? 20;
  const signal = AbortSignal.timeout(options.timeoutMs ?? 10_000);

  let current = new URL(authorizationUrl);
  if (!current.searchParams.has('login_hint')) current.searchParams.set('login_hint', options.loginHint);
  let form: URLSearchParams | null = null;
  const visited: string[] = [];

  for (let hop = 0; hop <= maxHops; hop += 1) {
    if (current.hostname !== '127.0.0.1') {
      throw new Error(`headless browser: refusing to leave 127.0.0.1 (${current.origin})`);
    }
    visited.push(`${form === null ? 'GET' : 'POST'} ${current.pathname}`);
    const headers = new Headers();
    const cookie = jar.header(current);
    if (cookie !== '') headers.set('cookie', cookie);
    if (form !== null) headers.set('content-type', 'application/x-www-form-urlencoded');
    const response = await fetch(current, {
      method: form === null ? 'GET' : 'POST',
      redirect: 'manual',
      headers,
      ...(form === null ? {} : { body: form }),
      signal,
    });
    jar.store(current, response.headers);
    const location = response.headers.get('location');
    let next: URL;
    if (response.status >= 300 && response.status <= 399 && location !== null) {
      await response.body?.cancel();
      next = new URL(location, current);
      form = null;
    } else {
      const body = await response.text();
      const submit = response.status === 200 ? findPostForm(body) : null;
      if (submit === null) {
        throw new Error(`headless browser: ${response.status} at ${current.pathname}: ${body.slice(0, 500)}`);
      }
      next = new URL(submit.action, current);
      if (next.href.startsWith(options.redirectUriPrefix)) {
        throw new Error('headless browser: a form_post response to the redirect URI is not supported');
      }
      form = submit.fields;
    }
    if (form === null && next.href.startsWith(options.redirectUriPrefix))
      return { callbackUrl: next.href, jar, visited };
    current = next;
  }
  throw new Error(`headless browser: more than ${maxHops} requests`);
}
