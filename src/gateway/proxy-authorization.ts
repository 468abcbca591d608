import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { ConnectionPool } from '../connections/index.js';
import { HubError, isHubError } from '../errors/index.js';
import { insufficientScope } from '../oauth/index.js';
import type { RegisteredServer, ServerRegistry } from '../registry/index.js';
import { authorizeInCall, type CallInProgress } from './authorize-in-call.js';
import { currentServer, refOf } from './server-ref.js';
import { stepUpInCall, type StepUpDeps } from './step-up.js';

/** What the per-server endpoint needs besides connections: the registry, and what an authorization asks with. */
export interface ProxyDeps extends StepUpDeps {
  registry: ServerRegistry;
  /** Whose log messages outside calls reach the session (session-logs.ts); none without it. */
  pool?: Pick<ConnectionPool, 'onLogMessage'>;
}

/** A relayed request, run on the connection of the given server's lookup. */
export type Relay<R> = (on: RegisteredServer) => Promise<R>;

/**
 * The JSON-RPC error of a request (other than `tools/call`) the caller's authorization of the server
 * is missing for, when the user could not be asked in the request or did not finish: InvalidRequest
 * with `data.code` HUB_ERR_OAUTH_REQUIRED, `data.reason` `oauth-required` and the hub's sign-in
 * link in `data.oauthUrl` (REST's 401 carries the same code and link).
 */
export function oauthRequiredError(serverName: string, text: string, link: string): McpError {
  return new McpError(ErrorCode.InvalidRequest, text, {
    code: 'HUB_ERR_OAUTH_REQUIRED',
    reason: 'oauth-required',
    serverName,
    oauthUrl: link,
  });
}

/** `relay` once more, on the server as the registry gives it to the caller now (a grant can take minutes). */
function again<R>(deps: ProxyDeps, caller: Identity, target: RegisteredServer, relay: Relay<R>) {
  return async (): Promise<R> => {
    const now = await currentServer(deps.registry, refOf(target), caller);
    if (!now) throw new HubError('HUB_ERR_SERVER_NOT_FOUND');
    return relay(now);
  };
}

/**
 * Any request of the per-server endpoint but `tools/call`: when the caller's authorization of the
 * server is gone (HUB_ERR_OAUTH_REQUIRED: revoked, refused, expired beyond refresh), a client that
 * declared URL elicitation is asked inside the request ({@link authorizeInCall}) and the request runs
 * once more after the grant; any other client, or a user who declines, gets {@link oauthRequiredError}.
 */
export async function requestWithAuthorization<R>(
  asked: CallInProgress,
  caller: Identity,
  target: RegisteredServer,
  deps: ProxyDeps,
  relay: Relay<R>,
): Promise<R> {
  try {
    return await relay(target);
  } catch (err) {
    if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
    return authorizeInCall(asked, caller, target, deps, again(deps, caller, target, relay), {
      refuse: (text, link): never => {
        throw oauthRequiredError(
          target.name,
          text.replace(/call the tool again/, 'send the request again'),
          link,
        );
      },
    });
  }
}

/**
 * A `tools/call` as `/mcp` runs it. Without the caller's authorization of the server, the user is
 * asked inside the call (URL elicitation, or a tool error with the link), and the call runs once more
 * after the grant. Refused on the live connection with 403 `insufficient_scope`, the user is asked for
 * the larger grant ({@link stepUpInCall}) and the call likewise runs once more. Either retry runs on
 * the server and connection looked up for the caller again. The authorization's own failures, such as
 * a server refusing again (HUB_ERR_OAUTH_STEP_UP_LIMIT), end the call with a tool error saying why, as
 * on `/mcp`; any other failure of the first try is relayed as before.
 */
export async function toolCallWithAuthorization(
  asked: CallInProgress,
  caller: Identity,
  target: RegisteredServer,
  deps: ProxyDeps,
  relay: Relay<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  try {
    return await relay(target);
  } catch (err) {
    const retry = again(deps, caller, target, relay);
    const refusal = insufficientScope(err, target.name, deps.upstreams.lastChallenge(caller, target));
    if (refusal === undefined && !isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
    try {
      if (refusal === undefined) return await authorizeInCall(asked, caller, target, deps, retry);
      return await stepUpInCall(asked, caller, target, deps, refusal, retry);
    } catch (failed) {
      if (isHubError(failed)) return { isError: true, content: [{ type: 'text', text: failed.message }] };
      throw failed;
    }
  }
}
