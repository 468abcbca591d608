import { CookieJar } from '../../peers/headless-browser.js';

/** One answer, read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  body: string;
  json<T = unknown>(): T;
  /** HAProxy's `X-Switchboard-Instance` (a, b or c); undefined past the load balancer. */
  instance: string | undefined;
}

/**
 * Requests as one user's client makes them: a bearer token and a browser's cookies. The instances'
 * own addresses count as the load balancer's site for cookies (an operator's clients only ever see
 * the load balancer; the tests address instances directly where a scenario needs one).
 */
export class UserClient {
  readonly jar = new CookieJar();

  constructor(
    readonly token: string,
    /** The load balancer's origin: the site every cookie belongs to. */
    private readonly site: string,
  ) {}

  private cookieUrl(url: string): string {
    const target = new URL(url);
    return target.hostname === '127.0.0.1' ? `${this.site}${target.pathname}` : url;
  }

  async request(method: string, url: string, body?: unknown): Promise<Answer> {
    const headers = new Headers({ authorization: `Bearer ${this.token}` });
    const cookie = this.jar.header(this.cookieUrl(url));
    if (cookie !== '') headers.set('cookie', cookie);
    if (body !== undefined) headers.set('content-type', 'application/json');
    const res = await fetch(url, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    this.jar.store(this.cookieUrl(url), res.headers);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text,
      json: <T>() => JSON.parse(text) as T,
      instance: res.headers.get('x-switchboard-instance') ?? undefined,
    };
  }

  /** `POST <base>/api/mcp/<server>/tools/<tool>/call`. */
  callTool(base: string, server: string, tool: string, args: Record<string, unknown> = {}): Promise<Answer> {
    return this.request('POST', `${base}/api/mcp/${server}/tools/${tool}/call`, { arguments: args });
  }

  /** A GET without the bearer token, with the jar's cookies (a browser following a redirect). */
  async browse(url: string): Promise<Answer> {
    const headers = new Headers();
    const cookie = this.jar.header(this.cookieUrl(url));
    if (cookie !== '') headers.set('cookie', cookie);
    const res = await fetch(url, { headers, redirect: 'manual' });
    this.jar.store(this.cookieUrl(url), res.headers);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text,
      json: <T>() => JSON.parse(text) as T,
      instance: res.headers.get('x-switchboard-instance') ?? undefined,
    };
  }
}

/** The text of a CallToolResult's first content item. */
export function firstText(answer: Answer): string | undefined {
  return answer.json<{ content?: Array<{ text?: string }> }>().content?.[0]?.text;
}
