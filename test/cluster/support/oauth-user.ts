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
 * The first half of an authorization: a tool call on `start` answers 401 with the authorization
 * URL, and a headless browser logs in at the AS as alice. Returns the redirect to the hub's
 * callback (path and query), not yet delivered.
 */
export async function beginAuthorization(
  client: UserClient,
  site: string,
  server: string,
  start: string,
): Promise<string> {
  const started = await client.callTool(start, server, 'whoami');
  expect(started.status, started.body).toBe(401);
  const { oauthUrl } = started.json<{ oauthUrl: string }>();
  const { callbackUrl } = await authorizeInBrowser(oauthUrl, {
    loginHint: 'alice',
    redirectUriPrefix: `${site}/api/mcp/${server}/oauth/callback`,
    // Many at once against an AS in the test's own process, on two cores: allow far more than 10 s.
    timeoutMs: 60_000,
  });
  const redirect = new URL(callbackUrl);
  return `${redirect.pathname}${redirect.search}`;
}

/**
 * The second half: the browser delivers the redirect on `callback`; the hub must show success.
 * Resolves with the instance that served the callback (behind the balancer).
 */
export async function completeAuthorization(
  client: UserClient,
  site: string,
  server: string,
  callback: string,
  redirect: string,
): Promise<string | undefined> {
  const done = await client.browse(`${callback}${redirect}`);
  expect(done.headers.get('location'), done.body).toBe(`${site}/oauth/success?serverName=${server}`);
  return done.instance;
}

/** A whole authorization of `client` for the OAuth-protected `server`, each half where `route` says. */
export async function authorizeUser(
  client: UserClient,
  site: string,
  server: string,
  route: AuthorizationRoute,
): Promise<void> {
  const redirect = await beginAuthorization(client, site, server, route.start);
  await completeAuthorization(client, site, server, route.callback, redirect);
}
