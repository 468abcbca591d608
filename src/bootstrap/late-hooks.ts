import type { Identity } from '../auth/index.js';
import type { Reopen } from '../servers/index.js';

/**
 * Calls between parts built in either order: a part made early (identity, the servers feature)
 * calls into one made later (the reconnector, the OAuth service, the sign-in). Each field does
 * nothing until the later part exists and sets it.
 */
export class LateHooks {
  /** Every authenticated request tells the reconnector the user is here. */
  onAuthenticated: (who: Identity) => void = () => undefined;
  /** A password change ends the user's MCP client authorizations at the hub's authorization server. */
  endClientAuthorizations: (userId: string) => Promise<void> = async () => undefined;
  /** An edit reopens its users' connections; until set, they come back on their next requests. */
  reopen: Reopen = async () => undefined;
  /** Moving a server cancels its pending OAuth flows. */
  cancelFlow: (flowId: string) => Promise<boolean> = async () => false;
}
