import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';

/** A loopback web server on an origin of its own, serving fixed HTML pages. */
export interface OtherOrigin {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Paths requested so far (without query), in order. */
  readonly requested: readonly string[];
  stop(): Promise<void>;
}

/** A page's HTML, fixed or made from the request's query. */
export type OtherOriginPage = string | ((query: URLSearchParams) => string);

/** Escapes text for an HTML attribute value. */
export function attribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A page framing the URL in its `src` query parameter, for {@link loadInFrame}. */
export const FRAMING_PAGE: OtherOriginPage = (query) =>
  `<!doctype html><title>framer</title><iframe src="${attribute(query.get('src') ?? 'about:blank')}"></iframe>`;

/** A page with one link to the URL in its `href` query parameter: a navigation another site starts. */
export const LINK_PAGE: OtherOriginPage = (query) =>
  `<!doctype html><title>linker</title><a href="${attribute(query.get('href') ?? '/')}">Connect</a>`;

/**
 * Starts a page server on another port of 127.0.0.1, which is another origin than the hub's
 * (RFC 6454 §4: the port is part of the origin). `pages` maps a path to its HTML; every other
 * path is a 404. Its pages send no CSP, so they may be framed and may frame.
 */
export async function startOtherOrigin(
  pages: Readonly<Record<string, OtherOriginPage>>,
): Promise<OtherOrigin> {
  const requested: string[] = [];
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    requested.push(url.pathname);
    const html = Object.hasOwn(pages, url.pathname) ? pages[url.pathname] : undefined;
    if (html === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const body = typeof html === 'string' ? html : html(url.searchParams);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // a TCP listen always yields AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requested,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What became of a page loaded in an iframe of another origin. */
export interface FramingOutcome {
  /** The URL the iframe ended on (`chrome-error://chromewebdata/` when Chromium refused to render it). */
  readonly frameUrl: string;
  /** Chromium's network error for the framed request, if it failed (e.g. `net::ERR_BLOCKED_BY_RESPONSE`). */
  readonly failure: string | null;
  /** Console messages of the framing page that mention Content Security Policy. */
  readonly cspMessages: readonly string[];
  /** The framed document's `<h1>` text when it rendered, else null. */
  readonly heading: string | null;
}

/**
 * Opens `framingPageUrl` (a page holding one `<iframe>` whose `src` is `framedUrl`) and reports
 * what Chromium did with the frame. It waits on the page's `load` event, which comes only after
 * its iframe has loaded or failed, so no timing is involved.
 */
export async function loadInFrame(
  page: Page,
  framingPageUrl: string,
  framedUrl: string,
): Promise<FramingOutcome> {
  let failure: string | null = null;
  const cspMessages: string[] = [];
  page.on('requestfailed', (request) => {
    if (request.url() === framedUrl) failure = request.failure()?.errorText ?? 'failed';
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspMessages.push(message.text());
  });
  await page.goto(framingPageUrl, { waitUntil: 'load' });
  const content = await (await page.locator('iframe').elementHandle())?.contentFrame();
  if (content === null || content === undefined) throw new Error('framing page: no iframe content frame');
  const frameUrl = content.url();
  const heading = frameUrl === framedUrl ? await content.locator('h1').first().textContent() : null;
  return { frameUrl, failure, cspMessages, heading };
}
