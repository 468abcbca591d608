import type { ServerConfig } from '../config/index.js';
import { changedDestinationFields } from '../credentials/index.js';
import { HubError } from '../errors/index.js';
import { ALL_BITS } from './access.js';

/**
 * The one rule for moving a server (V-01, V-05): where a server sends requests and credentials
 * (its URL and query, header templates, API-key placement, OAuth endpoints, client and scopes) is
 * the owner's to change, or an administrator's: callers holding every bit on it. An editor may
 * change everything else (title, description, icon, secret values kept in place); an editor's
 * attempt to move it is refused whole, so nothing changes.
 *
 * Returns the destination fields the update changes (`['*']` when the stored config could not be
 * read, so nothing can be compared): when any did, every user's credentials for the server go.
 */
export function checkDestinationChange(
  bits: number,
  name: string,
  before: ServerConfig | null,
  after: ServerConfig,
): string[] {
  const changed = before === null ? ['*'] : changedDestinationFields(before, after);
  if (changed.length > 0 && (bits & ALL_BITS) !== ALL_BITS) {
    throw new HubError('HUB_ERR_DESTINATION_OWNER_ONLY', {
      message: `Only the owner of MCP server '${name}' or an administrator can change where it connects (${changed.join(', ')}); editors may change its title, description and icon`,
      details: { fields: changed },
    });
  }
  return changed;
}
