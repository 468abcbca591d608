import type { Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { FRAMING_PAGE, loadInFrame, startOtherOrigin, type OtherOrigin } from './other-origin.js';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

/** The hub's own pages (the OAuth result pages and the sign-in page) in a real browser. */
describeInChromium("the hub's pages in Chromium", (chromium) => {
  let hub: TestHub;
  let hubUrl: string;
  let other: OtherOrigin;

  /** The browser session cookie as Chromium holds it, if any. */
  async function sessionCookie() {
    const cookies = await chromium.context.cookies(hubUrl);
    return cookies.find((cookie) => cookie.name === 'sb_session');
  }

  /** What `GET /api/auth/session` answers this browser (the JSON body, or the status when not 200). */
  async function apiSession(): Promise<unknown> {
    const response = await chromium.context.request.get(`${hubUrl}/api/auth/session`);
    return response.status() === 200 ? await response.json() : response.status();
  }

  /** Types into the sign-in form and submits it; resolves with the answer to the post once its page loaded. */
  async function fillAndSubmit(email: string, password: string): Promise<Response | null> {
    const page = chromium.page;
    await page.locator('input[name="email"]').fill(email);
    await page.locator('input[name="password"]').fill(password);
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.locator('form[action$="/auth/signin"] button[type="submit"]').click(),
    ]);
    // The post's own answer: a 303 on success (the navigation's response is then the page after it).
    return (await response?.request().redirectedFrom()?.response()) ?? response;
  }

  beforeAll(async () => {
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({ env: { PUBLIC_URL: hubUrl } });
    await hub.app.listen({ port, host: '127.0.0.1' });
    await hub.repos.users.create({ email: EMAIL, role: 'USER', passwordHash: cheapPasswordHash(PASSWORD) });
    other = await startOtherOrigin({
      '/frame': FRAMING_PAGE,
      '/framable': '<!doctype html><title>framable</title><h1>A page that allows framing</h1>',
      // Login CSRF: another origin's form posting the attacker's own credentials to the hub.
      '/login-csrf':
        `<!doctype html><title>free prize</title><form method="post" action="${hubUrl}/auth/signin">` +
        `<input type="hidden" name="email" value="${EMAIL}"><input type="hidden" name="password" value="${PASSWORD}">` +
        '<button type="submit">Claim</button></form>',
    });
  });

  afterAll(async () => {
    await other?.stop();
    await hub?.dispose();
  });

  it('renders the success page, styled and naming the server, and the error page with its known message', async () => {
    const page = chromium.page;
    const success = await page.goto(`${hubUrl}/oauth/success?serverName=vault`);
    expect(success?.status()).toBe(200);
    expect(await page.title()).toBe('Connected');
    expect(await page.locator('h1').textContent()).toBe('Connected');
    expect(await page.locator('p').first().textContent()).toBe(
      'vault is connected. You can close this window.',
    );
    // The stylesheet applied under the page's CSP (allowed by its hash; no other style, no script).
    // A string, evaluated in the page: this project's TypeScript has no DOM library.
    const maxWidth = await page.evaluate('getComputedStyle(document.body).maxWidth');
    expect(maxWidth).toBe('512px');
    await chromium.screenshot('oauth-success');

    const failure = await page.goto(`${hubUrl}/oauth/error?error=access_denied`);
    expect(failure?.status()).toBe(200);
    expect(await page.locator('h1').textContent()).toBe('Sign-in failed');
    expect(await page.locator('p').allTextContents()).toEqual([
      'Access was denied at the authorization server.',
      'You can close this window and try again.',
    ]);
    await chromium.screenshot('oauth-error-access-denied');
    expect(chromium.offLoopback).toEqual([]);
  });

  it('OA-08: script in the error parameters runs nowhere and is not shown', async () => {
    const page = chromium.page;
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const query = new URLSearchParams({
      error: '<script>alert(1)</script>',
      error_description: '<img src=x onerror=alert(2)>',
      serverName: '<svg onload=alert(3)>',
    });
    await page.goto(`${hubUrl}/oauth/error?${query.toString()}`, { waitUntil: 'load' });
    expect(await page.locator('h1').textContent()).toBe('Sign-in failed');
    expect(await page.locator('p').first().textContent()).toBe('The sign-in failed.');
    expect(await page.locator('img, svg').count()).toBe(0);
    // The one script is the page's own (its hash is the CSP's only script source), not the query's.
    expect(await page.locator('script').count()).toBe(1);
    expect(await page.content()).not.toContain('alert(');
    await chromium.screenshot('oauth-error-injected');
    expect(dialogs).toEqual([]);
  });

  it('another origin cannot frame the success page (frame-ancestors none), while a page that allows it is framed', async () => {
    const framedUrl = `${hubUrl}/oauth/success?serverName=vault`;
    const outcome = await loadInFrame(
      chromium.page,
      `${other.origin}/frame?src=${encodeURIComponent(framedUrl)}`,
      framedUrl,
    );
    expect(outcome.failure).toBe('net::ERR_BLOCKED_BY_RESPONSE');
    expect(outcome.frameUrl).not.toBe(framedUrl);
    expect(outcome.heading).toBeNull();
    expect(outcome.cspMessages.join('\n')).toContain("frame-ancestors 'none'");
    await chromium.screenshot('oauth-success-framed');

    // The control: the same check, on a page without the header, sees the framed page render.
    const control = await chromium.context.newPage();
    const framable = `${other.origin}/framable`;
    expect(
      await loadInFrame(control, `${other.origin}/frame?src=${encodeURIComponent(framable)}`, framable),
    ).toEqual({
      frameUrl: framable,
      failure: null,
      cspMessages: [],
      heading: 'A page that allows framing',
    });
  });
  it('renders the sign-in form; a wrong password shows the message and signs nobody in', async () => {
    const page = chromium.page;
    const response = await page.goto(`${hubUrl}/auth/signin`);
    expect(response?.status()).toBe(200);
    expect(await page.locator('input[name="email"]').isVisible()).toBe(true);
    expect(await page.locator('input[name="password"]').getAttribute('type')).toBe('password');
    const submit = page.locator('form[action$="/auth/signin"] button[type="submit"]');
    expect(await submit.textContent()).toBe('Sign in');
    // The stylesheet applies: its CSP hash matches what Chromium computes (no unsafe-inline needed).
    // (A string, evaluated in the page: this project's TypeScript has no DOM library.)
    const background = await page.evaluate(
      'getComputedStyle(document.querySelector(\'button[type="submit"]\')).backgroundColor',
    );
    expect(background).toBe('rgb(31, 95, 191)');
    await chromium.screenshot('signin-page');

    // A wrong password: the message, and nobody signed in.
    const answer = await fillAndSubmit(EMAIL, 'not the password');
    expect(answer?.status()).toBe(401);
    expect(await page.locator('[role="alert"]').textContent()).toBe('Wrong email or password.');
    // The email is kept, the password is not.
    expect(await page.locator('input[name="email"]').inputValue()).toBe(EMAIL);
    expect(await page.locator('input[name="password"]').inputValue()).toBe('');
    await chromium.screenshot('signin-wrong-password');
    // On a phone in dark mode: readable, and nothing wider than the screen.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 360, height: 640 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    await chromium.screenshot('signin-wrong-password-phone-dark');
    expect(await sessionCookie()).toBeUndefined();
    expect(await apiSession()).toBe(401);
    expect(chromium.offLoopback).toEqual([]);
  });

  it('the right password signs in with an HttpOnly cookie, and sign-out ends the session', async () => {
    const page = chromium.page;
    await page.goto(`${hubUrl}/auth/signin`);
    const answer = await fillAndSubmit(EMAIL, PASSWORD);
    expect(answer?.status()).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/auth/signin');
    expect(await page.locator('h1').textContent()).toBe('Signed in');
    expect(await page.locator('strong').textContent()).toBe(EMAIL);
    await chromium.screenshot('signin-signed-in');

    const cookie = await sessionCookie();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
    // Scripts in the page cannot read it (HttpOnly): nothing an injected script could steal.
    expect(await page.evaluate('document.cookie')).not.toContain('sb_session');
    expect(await apiSession()).toMatchObject({ user: { email: EMAIL } });

    await Promise.all([
      page.waitForNavigation(),
      page.locator('form[action$="/auth/signout"] button[type="submit"]').click(),
    ]);
    expect(new URL(page.url()).pathname).toBe('/auth/signin');
    expect(await page.locator('input[name="password"]').isVisible()).toBe(true);
    await chromium.screenshot('signin-signed-out');
    expect(await sessionCookie()).toBeUndefined();
    expect(await apiSession()).toBe(401);
  });

  it('returns to a path of the hub after sign-in, never to another site', async () => {
    const page = chromium.page;
    await page.goto(`${hubUrl}/auth/signin?returnTo=${encodeURIComponent('/oauth/success?serverName=back')}`);
    await fillAndSubmit(EMAIL, PASSWORD);
    expect(page.url()).toBe(`${hubUrl}/oauth/success?serverName=back`);

    await chromium.context.clearCookies();
    await page.goto(`${hubUrl}/auth/signin?returnTo=${encodeURIComponent('//example.com/x')}`);
    await fillAndSubmit(EMAIL, PASSWORD);
    expect(new URL(page.url()).origin).toBe(hubUrl);
    expect(chromium.offLoopback).toEqual([]);
  });

  it("another origin's form cannot sign this browser in (login CSRF), nor frame the page", async () => {
    const page = chromium.page;
    await page.goto(`${other.origin}/login-csrf`);
    const response = await Promise.all([page.waitForNavigation(), page.locator('button').click()]).then(
      ([navigation]) => navigation,
    );
    expect(response?.status()).toBe(403);
    await chromium.screenshot('signin-login-csrf-refused');
    expect(await sessionCookie()).toBeUndefined();

    // Nor frame the sign-in page (clickjacking of the form).
    const framedUrl = `${hubUrl}/auth/signin`;
    const outcome = await loadInFrame(
      chromium.page,
      `${other.origin}/frame?src=${encodeURIComponent(framedUrl)}`,
      framedUrl,
    );
    expect(outcome.failure).toBe('net::ERR_BLOCKED_BY_RESPONSE');
    expect(outcome.heading).toBeNull();
    expect(outcome.cspMessages.join('\n')).toContain("frame-ancestors 'none'");
  });
});
