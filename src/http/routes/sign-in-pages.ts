import type { FastifyReply } from 'fastify';
import { escapeHtml, page } from './oauth-pages.js';

/** A single-sign-on provider as the sign-in page offers it. */
export interface SignInProvider {
  /** The provider's id in the configuration (its start route is `/auth/sso/<id>/start`). */
  id: string;
  /** What the button says after "Sign in with". */
  name: string;
}

/** What every sign-in page needs to know of where it is served. */
export interface SignInPageContext {
  /** PUBLIC_URL's path prefix ('' at the root): form actions and links are paths the browser sees. */
  pathPrefix: string;
  /** Where the browser goes after signing in (already checked by `safeReturnTo`). */
  returnTo: string;
}

/** The hidden `returnTo` field of a form. */
function returnToField(returnTo: string): string {
  return `<input type="hidden" name="returnTo" value="${escapeHtml(returnTo)}">`;
}

/**
 * A sign-out button (a small form posting the session's CSRF token to `/auth/signout`); after
 * signing out the browser lands on the sign-in page, which then returns to `returnTo`. For any page
 * that shows who is signed in (the sign-in page, a link made for another account, a consent page).
 */
export function signOutForm(
  pathPrefix: string,
  csrfToken: string,
  returnTo: string,
  label = 'Sign out',
): string {
  return (
    `<form class="inline" method="post" action="${escapeHtml(`${pathPrefix}/auth/signout`)}">` +
    `<input type="hidden" name="_csrf" value="${escapeHtml(csrfToken)}">${returnToField(returnTo)}` +
    `<button type="submit" class="secondary">${escapeHtml(label)}</button></form>`
  );
}

/** The sign-in page: email and password, then one button per single-sign-on provider. */
export function signInFormPage(
  reply: FastifyReply,
  context: SignInPageContext & {
    providers: readonly SignInProvider[];
    /** Shown above the form (plain text), after a failed attempt. */
    error?: string | undefined;
    /** The email to fill in again after a failed attempt. */
    email?: string | undefined;
  },
): FastifyReply {
  const { pathPrefix, returnTo, providers } = context;
  const alert = context.error ? `<p class="alert" role="alert">${escapeHtml(context.error)}</p>` : '';
  const email = context.email ? ` value="${escapeHtml(context.email)}"` : '';
  const form =
    `<form method="post" action="${escapeHtml(`${pathPrefix}/auth/signin`)}">${returnToField(returnTo)}` +
    `<label>Email<input type="email" name="email" autocomplete="username" required${email}></label>` +
    '<label>Password<input type="password" name="password" autocomplete="current-password" required></label>' +
    '<p><button type="submit">Sign in</button></p></form>';
  const sso =
    providers.length === 0
      ? ''
      : '<p class="note">Or sign in with your organisation’s account:</p><ul class="providers">' +
        providers
          .map((provider) => {
            const start = `${pathPrefix}/auth/sso/${encodeURIComponent(provider.id)}/start?returnTo=${encodeURIComponent(returnTo)}`;
            return `<li><a class="button secondary" href="${escapeHtml(start)}">Sign in with ${escapeHtml(provider.name)}</a></li>`;
          })
          .join('') +
        '</ul>';
  return page(reply, 'Sign in to Switchboard', purposeOf(pathPrefix, returnTo) + alert + form + sso);
}

/** Why the browser was sent here, when the page it returns to says so (plain words, no request data). */
function purposeOf(pathPrefix: string, returnTo: string): string {
  const path = returnTo.startsWith(pathPrefix) ? returnTo.slice(pathPrefix.length) : returnTo;
  if (path.startsWith('/oauth2/')) {
    return '<p class="note">An application is asking to use Switchboard for you. Sign in first; you then decide whether to allow it.</p>';
  }
  if (path.startsWith('/api/mcp/oauth/link/')) {
    return '<p class="note">Sign in to connect an MCP server to your Switchboard account.</p>';
  }
  return '';
}

/** The sign-in page for a browser that is signed in already: who, continue, or sign out. */
export function signedInPage(
  reply: FastifyReply,
  context: SignInPageContext & { email: string; csrfToken: string; fallback: string },
): FastifyReply {
  const { pathPrefix, returnTo } = context;
  // Continuing to the sign-in page itself would only show this page again.
  const onward =
    returnTo === context.fallback ? '' : `<a class="button" href="${escapeHtml(returnTo)}">Continue</a>`;
  return page(
    reply,
    'Signed in',
    `<p>Signed in as <strong>${escapeHtml(context.email)}</strong>.</p>` +
      `<p class="actions">${onward}${signOutForm(pathPrefix, context.csrfToken, returnTo)}</p>`,
  );
}

/** The page for a post another site made (login CSRF), refused before any password was checked. */
export function crossSitePage(reply: FastifyReply): FastifyReply {
  return page(
    reply.status(403),
    'Sign-in refused',
    '<p>This sign-in was sent from another site, so it was refused.</p>' +
      '<p>Open Switchboard’s sign-in page yourself and sign in there.</p>',
  );
}
