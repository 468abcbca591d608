import { CookieJar } from './headless-browser.js';

/** How {@link HubBrowser.authorize} answers the hub's consent page. */
export type ConsentAnswer = 'approve' | 'deny' | 'stop';

/** Where an authorization ended in the browser. */
export type AuthorizeOutcome =
  /** The hub redirected to the client's redirect URI (not followed): with `code`, or an `error`. */
  | { kind: 'callback'; url: URL; consentShown: string | null; visited: string[] }
  /** A page the browser stopped at: the consent page (with `stop`), or an error page. */
  | { kind: 'page'; status: number; html: string; visited: string[] };

function unescapeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every POST form of a page: its action and its fields. */
function postForms(html: string): { action: string; fields: URLSearchParams }[] {
  const forms: { action: string; fields: URLSearchParams }[] = [];
  for (const form of html.matchAll(
    /<form\b[^>]*\bmethod="post"[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/gi,
  )) {
    const fields = new URLSearchParams();
    for (const input of (form[2] ?? '').matchAll(/<input\b[^>]*>/gi)) {
      const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
      const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
      if (name !== undefined) fields.append(unescapeHtml(name), unescapeHtml(value));
    }
    forms.push({ action: unescapeHtml(form[1] ?? ''), fields });
  }
  return forms;
}

/**
 * A fetch-driven browser for the hub's own pages: a cookie jar, manual redirects, and a user who
 * fills in the hub's sign-in form (email and password) when the hub shows it, then answers the
 * consent page as told. Only the hub's origin and the client's redirect URI prefix are ever reached.
 */
export class HubBrowser {
  readonly jar = new CookieJar();
  readonly #base: URL;
  #credentials: { email: string; password: string };
  /** How often the hub sent this browser to its sign-in page. */
  signIns = 0;

  constructor(base: string, credentials: { email: string; password: string }) {
    this.#base = new URL(base);
    this.#credentials = credentials;
  }

  /** Who signs in the next time the hub asks (another user at the same browser). */
  useCredentials(credentials: { email: string; password: string }): void {
    this.#credentials = credentials;
  }

  /** One request as a browser makes it (cookies in and out, redirects not followed). */
  async request(
    url: string | URL,
    init: { method?: string; form?: URLSearchParams; json?: unknown; headers?: Record<string, string> } = {},
  ) {
    const target = new URL(url, this.#base);
    if (target.origin !== this.#base.origin)
      throw new Error(`hub browser: refusing to leave the hub (${target.origin})`);
    const headers = new Headers({ 'sec-fetch-site': 'same-origin', ...init.headers });
    const cookie = this.jar.header(target);
    if (cookie !== '') headers.set('cookie', cookie);
    let body: string | undefined;
    if (init.form !== undefined) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = init.form.toString();
    } else if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const response = await fetch(target, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined ? {} : { body }),
    });
    this.jar.store(target, response.headers);
    return response;
  }

  /** Signs out of the hub (the session API, with the session's CSRF token). */
  async signOut(): Promise<void> {
    const session = await this.request('/api/auth/session');
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    const response = await this.request('/api/auth/session', {
      method: 'DELETE',
      headers: { 'x-csrf-token': csrfToken },
    });
    if (response.status !== 204) throw new Error(`hub browser: sign-out failed with ${response.status}`);
  }

  /** Signs in with the password (the hub's session API, as its sign-in page does). */
  async signIn(): Promise<void> {
    const response = await this.request('/api/auth/session', { json: this.#credentials });
    if (response.status !== 200) throw new Error(`hub browser: sign-in failed with ${response.status}`);
    this.signIns += 1;
  }

  /**
   * Opens `authorizationUrl` and follows the hub until a redirect to `redirectUriPrefix` (returned
   * unfollowed) or a page it stops at. The sign-in form is filled in and posted; the consent page is
   * answered with `answer`; oidc-provider's self-submitting forms are submitted.
   */
  async authorize(
    authorizationUrl: string,
    redirectUriPrefix: string,
    answer: ConsentAnswer,
  ): Promise<AuthorizeOutcome> {
    let next: URL = new URL(authorizationUrl);
    let form: URLSearchParams | undefined;
    let consentShown: string | null = null;
    const visited: string[] = [];
    for (let hop = 0; hop < 20; hop += 1) {
      visited.push(`${form === undefined ? 'GET' : 'POST'} ${next.pathname}`);
      const response = await this.request(next, form === undefined ? {} : { form });
      form = undefined;
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        const target = new URL(location, next);
        if (target.href.startsWith(redirectUriPrefix))
          return { kind: 'callback', url: target, consentShown, visited };
        next = target;
        continue;
      }
      const html = await response.text();
      const forms = postForms(html);
      // The hub's sign-in page: the user types their email and password and submits.
      const signInForm = forms.find((f) => f.action.endsWith('/auth/signin') && f.fields.has('password'));
      if (response.status === 200 && signInForm !== undefined) {
        signInForm.fields.set('email', this.#credentials.email);
        signInForm.fields.set('password', this.#credentials.password);
        next = new URL(signInForm.action, next);
        form = signInForm.fields;
        this.signIns += 1;
        continue;
      }
      const isConsent = forms.some((f) => f.action.endsWith('/approve'));
      if (isConsent) {
        consentShown = html;
        if (answer === 'stop') return { kind: 'page', status: response.status, html, visited };
        const chosen = forms.find((f) => f.action.endsWith(`/${answer}`));
        if (chosen === undefined) throw new Error('hub browser: the consent page has no such button');
        next = new URL(chosen.action, next);
        form = chosen.fields;
        continue;
      }
      // oidc-provider's own self-submitting form (ending its session when another user signs in).
      if (response.status === 200 && forms.length === 1 && forms[0] !== undefined) {
        next = new URL(forms[0].action, next);
        form = forms[0].fields;
        continue;
      }
      return { kind: 'page', status: response.status, html, visited };
    }
    throw new Error('hub browser: too many requests');
  }
}
