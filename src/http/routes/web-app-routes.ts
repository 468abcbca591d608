import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `npm run build` puts the page: `web/dist` at the repository root. The same three steps up
 * hold from `src/http/routes/` (tsx, tests) and from `dist/http/routes/` (the built hub).
 */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Options for {@link webAppRoutes}. */
export interface WebAppRouteOptions {
  /** The built page's folder (its `index.html` and `assets/`); default {@link DEFAULT_WEB_ROOT}. */
  root?: string | undefined;
}

/**
 * First path segments of the page's own screens, which the page routes on the client: a GET of one
 * of them (say `/servers/everything` after a reload) is answered with `index.html`. Add a segment
 * here with each new top-level screen. Every other path that is not a built file keeps the hub's
 * JSON 404, so the API and protocol paths (`/api`, `/mcp`, `/oauth`, `/.well-known`, …) never get
 * the page instead of their own answer.
 */
const PAGE_SEGMENTS: ReadonlySet<string> = new Set([
  '',
  'index.html',
  'servers',
  'explorer',
  'my-servers',
  'apps',
  'admin',
]);

/**
 * The page's policy: scripts and styles from the hub only (Vite emits no inline script), pictures
 * and sound from the hub or `data:` (tool results carry images and audio inline), requests to the
 * hub only, never framed, no plugins, no `<base>`, and forms post to the hub only. One exception for
 * styles: a nonce fresh for each load of `index.html`, which the page hands to the dialogs' scroll
 * lock (it writes a `<style>` element); a stylesheet injected by anyone else has no nonce. Server icons on other hosts are therefore not loaded; the page draws a letter.
 */
function pageCsp(styleNonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${styleNonce}'`,
    "img-src 'self' data:",
    "media-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Where the page reads its style nonce (`web/index.html` has this tag with an empty value). */
const NONCE_META = '<meta name="style-nonce" content="" />';

/** Vite names every file under `assets/` by its content hash: it never changes, so caches keep it. */
const HASHED_CACHE = 'public, max-age=31536000, immutable';

/** Shown at `/` when the page was not built (a checkout where `npm run build` has not run). */
const NOT_BUILT =
  'The web page is not built. Run `npm install` (or `npm run build`) in the repository, then reload.\n' +
  'The API works without it: see /docs.\n';

/** Every file below `root`, as URL paths (`/index.html`, `/assets/index-3f2a.js`); empty when none. */
async function listFiles(root: string): Promise<Set<string>> {
  try {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    const files = entries
      .filter((entry) => entry.isFile())
      .map(
        (entry) =>
          '/' + path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'),
      );
    return new Set(files);
  } catch {
    return new Set();
  }
}

/** True for a path of one of the page's screens; `.` and `..` segments (traversal attempts) never are. */
function isPagePath(urlPath: string): boolean {
  const segments = urlPath.split('/');
  if (segments.some((segment) => segment === '.' || segment === '..')) return false;
  return PAGE_SEGMENTS.has(segments[1] ?? '');
}

/**
 * The web page at `/`: the files Vite built, and `index.html` for the paths of the page's screens
 * (the page routes on the client). Only files that existed at start are ever
 * served, so no request path reaches the file system. Without a build, `/` says how to make one.
 */
export const webAppRoutes: FastifyPluginAsync<WebAppRouteOptions> = async (app, options) => {
  const root = options.root ?? DEFAULT_WEB_ROOT;
  const files = await listFiles(root);
  const built = files.has('/index.html');
  // serve: false: @fastify/static only lends `reply.sendFile` (ETag, ranges, content types), and the
  // route below decides what is served.
  await app.register(fastifyStatic, { root, serve: false, cacheControl: false });

  const indexHtml = built ? await readFile(path.join(root, 'index.html'), 'utf8') : '';

  function sendPage(reply: FastifyReply): FastifyReply {
    const styleNonce = randomBytes(16).toString('base64');
    void reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', pageCsp(styleNonce))
      .header('cache-control', 'no-cache')
      // The Servers screen opens an OAuth sign-in in a popup and hears the result page (same
      // origin) say how it ended; helmet's `same-origin` would cut the popup off at the
      // authorization server's page.
      .header('cross-origin-opener-policy', 'same-origin-allow-popups');
    return reply.send(indexHtml.replace(NONCE_META, `<meta name="style-nonce" content="${styleNonce}" />`));
  }

  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const urlPath = decodeURIComponentSafe(request.url.split('?')[0] ?? '/');
    if (urlPath === null) return reply.callNotFound();
    if (!built) {
      if (urlPath !== '/') return reply.callNotFound();
      return reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(NOT_BUILT);
    }
    if (urlPath !== '/index.html' && files.has(urlPath)) {
      const cache = urlPath.startsWith('/assets/') ? HASHED_CACHE : 'no-cache';
      void reply.header('cache-control', cache);
      return reply.sendFile(urlPath.slice(1));
    }
    if (!isPagePath(urlPath)) return reply.callNotFound();
    return sendPage(reply);
  });
};

/** The decoded path, or null when it is not valid percent-encoding. */
function decodeURIComponentSafe(value: string): string | null {
  try {
    return decodeURIComponent(value);
  } catch {
    return null;
  }
}
