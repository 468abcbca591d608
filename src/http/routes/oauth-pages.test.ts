import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthPages, RESULT_SCRIPT, saveRetryPage } from './oauth-pages.js';

/** The inline scripts of a page, as written. */
function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((match) => match[1] ?? '');
}

/** The `script-src` sources of a CSP header. */
function scriptSources(csp: string): string[] {
  const directive = csp
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('script-src '));
  return directive === undefined ? [] : directive.split(/\s+/).slice(1);
}

describe('the OAuth result pages', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = Fastify();
    await app.register(oauthPages);
    app.get('/retry-here', async (_request, reply) => saveRetryPage(reply.status(503)));
  });

  afterAll(async () => {
    await app.close();
  });

  it('carry one inline script, allowed by a CSP hash that matches it, and nothing else may run', async () => {
    for (const url of ['/oauth/success?serverName=vault', '/oauth/error?error=access_denied']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      const scripts = inlineScripts(res.body);
      expect(scripts, url).toEqual([RESULT_SCRIPT]);
      const digest = createHash('sha256')
        .update(scripts[0] ?? '')
        .digest('base64');
      const csp = String(res.headers['content-security-policy']);
      expect(scriptSources(csp), url).toEqual([`'sha256-${digest}'`]);
      expect(csp, url).toContain("default-src 'none'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toContain('unsafe-inline');
      // The popup keeps its opener across the authorization server's pages (helmet's default would cut it).
      expect(res.headers['cross-origin-opener-policy'], url).toBe('unsafe-none');
      expect(res.headers['cache-control'], url).toBe('no-store');
      expect(res.headers['referrer-policy'], url).toBe('no-referrer');
    }
  });

  it('tell the opener the outcome through data attributes: success with the server, failure with the error word', async () => {
    const success = await app.inject({ url: '/oauth/success?serverName=vault' });
    expect(success.body).toContain(
      '<div id="oauth-result" hidden data-ok="true" data-server-name="vault"></div>',
    );
    const failure = await app.inject({ url: '/oauth/error?error=access_denied' });
    expect(failure.body).toContain(
      '<div id="oauth-result" hidden data-ok="false" data-error="access_denied"></div>',
    );
    expect(failure.body).toContain('Access was denied at the authorization server.');
  });

  it('reflect no query value unescaped: markup becomes a generic word, a bad server name is left out', async () => {
    const marker = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
    const query = new URLSearchParams({ error: marker, serverName: marker, error_description: marker });
    const failure = await app.inject({ url: `/oauth/error?${query.toString()}` });
    expect(failure.body).not.toContain(marker);
    expect(failure.body).not.toContain('alert(');
    expect(failure.body).not.toContain('<img');
    expect(failure.body).toContain('data-error="callback_failed"');
    expect(failure.body).not.toContain('data-server-name');
    expect(inlineScripts(failure.body)).toEqual([RESULT_SCRIPT]);

    const success = await app.inject({ url: `/oauth/success?serverName=${encodeURIComponent(marker)}` });
    expect(success.body).not.toContain('alert(');
    expect(success.body).toContain('The server is connected.');
    expect(success.body).not.toContain('data-server-name');

    // A word that looks right but is unknown is passed on as a word, and shown as the generic failure.
    const unknown = await app.inject({ url: '/oauth/error?error=toString' });
    expect(unknown.body).toContain('data-error="callback_failed"');
    expect(unknown.body).toContain('The sign-in failed.');
    const word = await app.inject({ url: '/oauth/error?error=server_error' });
    expect(word.body).toContain('data-error="server_error"');
  });

  it('FT-05: the retry page keeps the popup open (no script) and its "Try again" is the page itself', async () => {
    const res = await app.inject({ url: '/retry-here?code=c&state=s' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('You signed in, but the hub could not save the sign-in just now.');
    expect(res.body).toContain('<a class="button" href="">Try again</a>');
    expect(inlineScripts(res.body)).toEqual([]);
    expect(res.body).not.toContain('oauth-result');
    const csp = String(res.headers['content-security-policy']);
    expect(scriptSources(csp)).toEqual([]);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('tell an interrupted sign-in and an unsaved one apart in plain words', async () => {
    const interrupted = await app.inject({ url: '/oauth/error?error=sign_in_interrupted' });
    expect(interrupted.body).toContain('This sign-in was interrupted before the hub could save it.');
    const unsaved = await app.inject({ url: '/oauth/error?error=tokens_not_saved' });
    expect(unsaved.body).toContain('You signed in, but the hub could not save the sign-in.');
  });

  it('the script talks to a same-origin opener only, with its own origin as the target, and then closes', () => {
    expect(RESULT_SCRIPT).toContain('opener.location.origin===origin');
    expect(RESULT_SCRIPT).toContain('opener.postMessage(message,origin)');
    expect(RESULT_SCRIPT).toContain('if(opened)window.close()');
    expect(RESULT_SCRIPT).not.toContain("'*'");
  });
});
