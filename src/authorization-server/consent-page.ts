import { escapeHtml } from '../http/index.js';
import { describeResource } from './resources.js';

/** What the consent page shows. */
export interface ConsentView {
  /** The client's own name (`client_name`), if it gave one: the client's claim, not the hub's word. */
  clientName: string | undefined;
  /** The client id when it is a metadata document URL (its host vouches for the client); else undefined. */
  documentUrl: string | undefined;
  /** The host the authorization code will be sent to. */
  redirectHost: string;
  /** Resource indicators asked for. */
  resources: readonly string[];
  /** Whether the client also asks to learn who the user is (`openid`). */
  asksIdentity: boolean;
  /** Who is signed in. */
  userEmail: string;
  /** Where the two forms post (`…/approve`, `…/deny`), prefix included. */
  actionBase: string;
  csrfToken: string;
  publicUrl: string;
}

/**
 * The consent page's HTML body: which application, where the approval goes, what it will reach,
 * and two buttons, each a form carrying the session's CSRF token. Every piece of text a client
 * chose is escaped.
 */
export function consentBody(view: ConsentView): string {
  const name =
    view.clientName !== undefined && view.clientName.trim() !== ''
      ? `<strong>${escapeHtml(view.clientName)}</strong>`
      : 'An application that gave no name';
  const vouched =
    view.documentUrl !== undefined
      ? `<p>Its details are published by <strong>${escapeHtml(new URL(view.documentUrl).host)}</strong>.</p>`
      : '<p>It registered itself with Switchboard: its name is its own claim, not checked by anyone.</p>';
  const reaches = view.resources.map(
    (indicator) => `<li>${escapeHtml(describeResource(view.publicUrl, indicator))}</li>`,
  );
  if (view.asksIdentity) reaches.push('<li>who you are on Switchboard (your user id)</li>');
  const csrf = `<input type="hidden" name="_csrf" value="${escapeHtml(view.csrfToken)}">`;
  return (
    `<p>${name} wants to use Switchboard as <strong>${escapeHtml(view.userEmail)}</strong>.</p>` +
    vouched +
    `<p>It will be able to reach:</p><ul>${reaches.join('')}</ul>` +
    `<p>If you allow it, Switchboard sends your approval to <strong>${escapeHtml(view.redirectHost)}</strong>. ` +
    'Only allow it if you just asked this application to connect, and you trust that address.</p>' +
    '<div class="actions">' +
    `<form method="post" action="${escapeHtml(view.actionBase)}/approve" class="inline">${csrf}<button type="submit">Allow</button></form>` +
    `<form method="post" action="${escapeHtml(view.actionBase)}/deny" class="inline">${csrf}<button type="submit" class="secondary">Deny</button></form>` +
    '</div>'
  );
}
