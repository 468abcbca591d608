import { expect } from 'vitest';
import { authorizeInBrowser } from '../../peers/headless-browser.js';
import type { UserClient } from './http.js';

/** Where each step of one user's OAuth authorization goes (a base URL: an instance or the balancer). */
export interface AuthorizationRoute {
  /** The tool call that answers 401 with the authorization URL (starts the flow). */
  start: string;
  /** Where the browser delivers the AS's redirect (the callback). */
  callback: string;
}

/**
 * Authorizes `client` for the OAuth-protected server: a tool call on `route.start` answers 401 with
 * the authorization URL, a headless browser logs in at the AS as alice, and the redirect to the
 * hub's callback is delivered on `route.callback` with the client's cookies. The hub must answer
 * with its success page.
 */
export async function authorizeUser(
  client: UserClient,
  site: string,
  server: string,
  route: AuthorizationRoute,
): Promise<void> {
  const started = await client.callTool(route.start, server, 'whoami');
  expect(started.status, started.body).toBe(401);
  const { oauthUrl } = started.json<{ oauthUrl: string }>();
  const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
    loginHint: 'alice',
    redirectUriPrefix: `${site}/api/mcp/${server}/oauth/callback`,
    // 50 at once against an AS in the test's own process, on two cores: allow far more than 10 s.
    timeoutMs: 60_000,
  });
  const redirect = new URL(callbackUrl);
  const done = await client.browse(`${route.callback}${redirect.pathname}${redirect.search}`);
  expect(done.headers.get('location'), done.body).toBe(`${site}/oauth/success?serverName=${server}`);
}
