import { CookieJar } from './headless-browser.js';

/** Where a walk of {@link SsoBrowser.open} ended. */
export interface BrowserStop {
  /** The last URL requested, or the URL the walk stopped before (with `status` 0). */
  url: URL;
  /** The final answer's status; 0 when the walk stopped before requesting `url`. */
  status: number;
  /** The final page's body ('' when stopped before it). */
  body: string;
  /** `METHOD origin/path` of every request made, in order (no query: it holds codes and states). */
  visited: string[];
}

function unescapeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function postForm(html: string): { action: string; fields: URLSearchParams } | null {
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
 * A fetch-driven browser for single sign-on: one cookie jar for every origin, redirects followed
 * by hand, the identity provider's self-submitting forms submitted. At the provider's
 * authorization endpoint it adds `login_hint` for `user` (the person typing their name). Only
 * 127.0.0.1 is ever reached.
 */
export class SsoBrowser {
  readonly jar = new CookieJar();

  constructor(
    /** The account to sign in as at the identity provider. */
    public user: string,
    private readonly idpIssuers: readonly string[],
  ) {}

  /**
   * Opens `url` and follows redirects until a page that is not a redirect, or until `stopBefore`
   * says the next URL is not to be requested (then it is returned unrequested).
   */
  async open(url: string | URL, stopBefore?: (next: URL) => boolean): Promise<BrowserStop> {
    let current = new URL(url);
    let form: URLSearchParams | null = null;
    const visited: string[] = [];
    for (let hop = 0; hop < 25; hop += 1) {
      if (current.hostname !== '127.0.0.1') throw new Error(`sso browser: refusing ${current.origin}`);
      if (hop > 0 && form === null && stopBefore?.(current) === true) {
        return { url: current, status: 0, body: '', visited };
      }
      const atIdp = this.idpIssuers.some((issuer) => current.href.startsWith(`${issuer}/auth`));
      if (atIdp && form === null && !current.searchParams.has('login_hint')) {
        current.searchParams.set('login_hint', this.user);
      }
      visited.push(`${form === null ? 'GET' : 'POST'} ${current.origin}${current.pathname}`);
      const headers = new Headers();
      const cookie = this.jar.header(current);
      if (cookie !== '') headers.set('cookie', cookie);
      if (form !== null) headers.set('content-type', 'application/x-www-form-urlencoded');
      const response = await fetch(current, {
        method: form === null ? 'GET' : 'POST',
        redirect: 'manual',
        headers,
        signal: AbortSignal.timeout(10_000),
        ...(form === null ? {} : { body: form }),
      });
      this.jar.store(current, response.headers);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        current = new URL(location, current);
        form = null;
        continue;
      }
      const body = await response.text();
      const fromIdp = this.idpIssuers.includes(current.origin);
      const submit = fromIdp && response.status === 200 ? postForm(body) : null;
      if (submit === null) return { url: current, status: response.status, body, visited };
      current = new URL(submit.action, current);
      form = submit.fields;
    }
    throw new Error('sso browser: too many requests');
  }
}
