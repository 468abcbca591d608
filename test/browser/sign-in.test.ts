import type { Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { cheapPasswordHash } from './cheap-password.js';
import { loadInFrame, startOtherOrigin, type OtherOrigin } from './other-origin.js';

const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery staple';

describeInChromium('the sign-in page in Chromium', (chromium) => {
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
      '/frames-signin': `<!doctype html><title>framer</title><iframe src="${hubUrl}/auth/signin"></iframe>`,
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
    const outcome = await loadInFrame(chromium.page, `${other.origin}/frames-signin`, framedUrl);
    expect(outcome.failure).toBe('net::ERR_BLOCKED_BY_RESPONSE');
    expect(outcome.heading).toBeNull();
    expect(outcome.cspMessages.join('\n')).toContain("frame-ancestors 'none'");
  });
});
