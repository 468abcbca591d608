import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import type { Kv } from '../kv/index.js';
import type { OAuthService } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { UpstreamService } from './upstream-service.js';

/** A started authorization: what the caller opens in a browser. */
export interface StartedAuthorization {
  flowId: string;
  oauthUrl: string;
}

/** Starts OAuth flows for callers and remembers each flow's authorization URL for `initiate`. */
export interface AuthorizationStarter {
  start(caller: Identity, server: RegisteredServer): Promise<StartedAuthorization>;
  /** The authorization URL of the caller's latest flow for a server, while it lives. */
  pendingUrl(flowId: string): Promise<string | null>;
}

/** Same lifetime as the flow's state (10 minutes). */
const URL_TTL_MS = 10 * 60_000;

/** Creates the starter over the OAuth service. */
export function createAuthorizationStarter(deps: {
  oauth: OAuthService;
  upstreams: UpstreamService;
  kv: Kv;
}): AuthorizationStarter {
  return {
    async start(caller, server) {
      const owner = deps.upstreams.tokenOwner(server, caller);
      // A shared authorization is every user's: only an admin may start (or see, or cancel) it.
      if (owner !== caller.userId && caller.role !== 'ADMIN') {
        throw new HubError('HUB_ERR_FORBIDDEN', {
          message: `MCP server '${server.name}' is authorized once for everyone: ask an administrator to connect it`,
        });
      }
      const serverUrl = await deps.upstreams.serverUrlFor(caller, server);
      const flow = await deps.oauth.initiate({
        userId: owner,
        serverName: server.name,
        serverUrl,
        config: server.config,
        // Start from what the server itself said in its 401/403 (resource metadata, scope), if it spoke.
        challenge: deps.upstreams.lastChallenge(caller, server),
      });
      await deps.kv.set(`oauth:url:${flow.flowId}`, flow.authorizationUrl, { ttlMs: URL_TTL_MS });
      return { flowId: flow.flowId, oauthUrl: flow.authorizationUrl };
    },
    pendingUrl: (flowId) => deps.kv.get(`oauth:url:${flowId}`),
  };
}
