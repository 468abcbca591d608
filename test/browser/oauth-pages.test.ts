import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInChromium } from '../support/chromium.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { freePort } from '../support/mcp-helpers.js';
import { loadInFrame, startOtherOrigin, type OtherOrigin } from './other-origin.js';

describeInChromium('the OAuth result pages in Chromium', (chromium) => {
  let hub: TestHub;
  let hubUrl: string;
  let other: OtherOrigin;

  beforeAll(async () => {
    const port = await freePort();
    hubUrl = `http://127.0.0.1:${port}`;
    hub = await startTestHub({ env: { PUBLIC_URL: hubUrl } });
    await hub.app.listen({ port, host: '127.0.0.1' });
    other = await startOtherOrigin({
      '/frames-success': `<!doctype html><title>framer</title><iframe src="${hubUrl}/oauth/success?serverName=vault"></iframe>`,
      '/frames-own': '<!doctype html><title>framer</title><iframe src="/framable"></iframe>',
      '/framable': '<!doctype html><title>framable</title><h1>A page that allows framing</h1>',
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
    expect(await page.locator('script, img, svg').count()).toBe(0);
    expect(await page.content()).not.toContain('alert(');
    await chromium.screenshot('oauth-error-injected');
    expect(dialogs).toEqual([]);
  });

  it('another origin cannot frame the success page (frame-ancestors none), while a page that allows it is framed', async () => {
    const framedUrl = `${hubUrl}/oauth/success?serverName=vault`;
    const outcome = await loadInFrame(chromium.page, `${other.origin}/frames-success`, framedUrl);
    expect(outcome.failure).toBe('net::ERR_BLOCKED_BY_RESPONSE');
    expect(outcome.frameUrl).not.toBe(framedUrl);
    expect(outcome.heading).toBeNull();
    expect(outcome.cspMessages.join('\n')).toContain("frame-ancestors 'none'");
    await chromium.screenshot('oauth-success-framed');

    // The control: the same check, on a page without the header, sees the framed page render.
    const control = await chromium.context.newPage();
    const framable = `${other.origin}/framable`;
    expect(await loadInFrame(control, `${other.origin}/frames-own`, framable)).toEqual({
      frameUrl: framable,
      failure: null,
      cspMessages: [],
      heading: 'A page that allows framing',
    });
  });
});
