import { accessSync, constants } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, it } from 'vitest';

/**
 * Flags for a quiet, offline headless Chromium in a container: no sandbox (tests run as root),
 * no GPU, no QUIC, and none of the background calls to Google services a fresh profile makes.
 */
const LAUNCH_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Time allowed for one navigation, click or selector wait: a page that never comes fails fast. */
const ACTION_TIMEOUT_MS = 10_000;

/** Where screenshots land: `test-artifacts/screenshots/` at the repository root (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/** Hosts a page may reach: the tests' own listeners. Anything else is refused and recorded. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A forward proxy that refuses everything: Chromium is told to use it, and sends loopback
 * requests direct (its implicit proxy bypass covers localhost and 127.0.0.0/8), so every other
 * request, redirect hops included, ends here and fails. Request interception cannot do this:
 * playwright routes see the first request of a redirect chain only.
 */
class RefusingProxy {
  readonly #server = http.createServer((_request, response) => {
    response.writeHead(403, { 'content-type': 'text/plain' }).end('refused: tests reach loopback only');
  });

  constructor() {
    this.#server.on('connect', (_request, socket) => {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
  }

  /** Listens on a free loopback port; answers `http://127.0.0.1:<port>`. */
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo; // a TCP listen always yields AddressInfo
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium binary: `CHROMIUM_PATH` when set, else the first `chromium` or `chromium-browser`
 * on `PATH` (Debian's package installs `/usr/bin/chromium`). Null when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env.CHROMIUM_PATH;
  if (explicit !== undefined && explicit !== '') return isExecutable(explicit) ? explicit : null;
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return null;
}

/** Schemes whose URLs make network requests (data:, about:, blob: and the like make none). */
const NETWORK_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'ws:', 'wss:', 'ftp:']);

/** True for a URL that makes no request or makes it to one of the tests' loopback hosts. */
function staysLocal(url: URL): boolean {
  return !NETWORK_SCHEMES.has(url.protocol) || LOOPBACK_HOSTS.has(url.hostname);
}

/** A file name for a screenshot: letters, digits, `-` and `_` only, so a title cannot escape the folder. */
function screenshotFile(name: string): string {
  const safe = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 120);
  return path.join(SCREENSHOT_DIR, `${safe === '' ? 'screenshot' : safe}.png`);
}

/**
 * One Chromium for a test file, a fresh incognito-like context (no cookies, no storage) per test.
 * Pages may only reach loopback hosts: every other request (redirect hops too) goes to a proxy
 * that refuses it, and is listed in {@link offLoopback}, so a test can assert that nothing tried
 * to leave the machine.
 */
export class ChromiumHarness {
  readonly #executable: string;
  readonly #proxy = new RefusingProxy();
  #browser: Browser | null = null;
  #context: BrowserContext | null = null;
  #page: Page | null = null;
  /** Origins the current context's pages tried to reach off loopback (each refused), in order. */
  readonly offLoopback: string[] = [];

  constructor(executable: string) {
    this.#executable = executable;
  }

  /** Starts the browser (playwright gives it a throw-away profile directory and removes it on close). */
  async launch(): Promise<void> {
    const proxy = await this.#proxy.start();
    this.#browser = await chromium.launch({
      executablePath: this.#executable,
      // Not playwright's `proxy` option: it would send loopback through the proxy as well.
      args: [...LAUNCH_ARGS, `--proxy-server=${proxy}`],
      timeout: 30_000,
    });
  }

  /** Opens a fresh context and its first page; the previous context, if any, is closed first. */
  async openContext(): Promise<Page> {
    await this.closeContext();
    if (this.#browser === null) throw new Error('chromium harness: launch() first');
    const context = await this.#browser.newContext({ viewport: { width: 1000, height: 700 } });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
    this.offLoopback.length = 0;
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (!staysLocal(url)) this.offLoopback.push(url.origin);
    });
    this.#context = context;
    this.#page = await context.newPage();
    return this.#page;
  }

  /** The current test's page. */
  get page(): Page {
    if (this.#page === null) throw new Error('chromium harness: no page (is this inside a test?)');
    return this.#page;
  }

  /** The current test's context (its cookies are this test's "browser"). */
  get context(): BrowserContext {
    if (this.#context === null) throw new Error('chromium harness: no context (is this inside a test?)');
    return this.#context;
  }

  /** Saves a full-page screenshot of `page` (default: the current page) as `<name>.png`; returns its path. */
  async screenshot(name: string, page: Page = this.page): Promise<string> {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const file = screenshotFile(name);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Closes the current context (its pages and cookies). */
  async closeContext(): Promise<void> {
    const context = this.#context;
    this.#context = null;
    this.#page = null;
    await context?.close();
  }

  /** Closes the context and the browser. */
  async close(): Promise<void> {
    try {
      await this.closeContext();
    } finally {
      const browser = this.#browser;
      this.#browser = null;
      try {
        await browser?.close();
      } finally {
        await this.#proxy.stop();
      }
    }
  }
}

let skipAnnounced = false;

/**
 * A `describe` whose tests drive a real Chromium: the browser starts once for the block, each test
 * gets a fresh context (`chromium.page`), a failed test leaves a `failed-<title>.png` screenshot,
 * and everything is closed after the block. Without a Chromium binary the block is skipped with a
 * notice, except under `CI=true`, where it fails with a message saying how to install one.
 */
export function describeInChromium(title: string, body: (chromium: ChromiumHarness) => void): void {
  const executable = findChromium();
  if (executable === null) {
    if (process.env.CI === 'true') {
      describe(title, () => {
        it('needs Chromium', () => {
          throw new Error(
            'CI=true but no Chromium was found (CHROMIUM_PATH, or chromium on PATH): ' +
              'install it (Debian: apt-get install -y chromium; .ci/run does this)',
          );
        });
      });
      return;
    }
    if (!skipAnnounced) {
      skipAnnounced = true;
      console.warn(
        '[switchboard tests] skipping the Chromium suites: no Chromium found (CHROMIUM_PATH, or chromium on PATH)',
      );
    }
    describe.skip(title, () => body(new ChromiumHarness('chromium')));
    return;
  }

  describe(title, () => {
    const harness = new ChromiumHarness(executable);
    beforeAll(() => harness.launch(), 60_000);
    afterAll(() => harness.close());
    beforeEach(async () => {
      await harness.openContext();
    });
    afterEach(async ({ task }) => {
      try {
        // The page as the failure left it is the quickest way to see why a browser test failed;
        // a pass removes the one an earlier run left, so the folder shows only current failures.
        const failureShot = `failed-${task.name}`;
        if (task.result?.state === 'fail') await harness.screenshot(failureShot).catch(() => undefined);
        else await rm(screenshotFile(failureShot), { force: true });
      } finally {
        await harness.closeContext();
      }
    });
    body(harness);
  });
}
