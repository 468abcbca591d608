import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import { HubError } from '../errors/index.js';
import { insufficientScope } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { UpstreamService } from '../upstreams/index.js';
import { authorizeInCall, type CallInProgress, type InCallAuthorizationDeps } from './authorize-in-call.js';

/** What a step-up inside a call needs: the in-call authorization, and the challenges upstreams sent. */
export interface StepUpDeps extends InCallAuthorizationDeps {
  upstreams: Pick<UpstreamService, 'lastChallenge'>;
}

/**
 * A call on a live connection the upstream refused with 403 `insufficient_scope` (`refusal`, from
 * {@link insufficientScope}): the user is asked for the larger grant as for a first authorization
 * (URL elicitation, or a tool error with the link), whose flow asks for the scope granted so far
 * plus the challenge's. Once granted, `retry` runs once; a server that refuses again for scope is
 * not asked about a second time in this call: the call ends with HUB_ERR_OAUTH_STEP_UP_LIMIT.
 */
export function stepUpInCall<R>(
  request: CallInProgress,
  caller: Identity,
  target: RegisteredServer,
  deps: StepUpDeps,
  refusal: HubError,
  retry: () => Promise<R>,
): Promise<R | CallToolResult> {
  const scope = refusal.details?.scope;
  const asked = typeof scope === 'string' ? ` (it asks for the scope '${scope}')` : '';
  const retryOnce = async (): Promise<R> => {
    try {
      return await retry();
    } catch (err) {
      if (insufficientScope(err, target.name, deps.upstreams.lastChallenge(caller, target)) === undefined)
        throw err;
      throw new HubError('HUB_ERR_OAUTH_STEP_UP_LIMIT', {
        message: `MCP server '${target.name}' still refuses this call after the new authorization${asked}; not asking again`,
        cause: err,
      });
    }
  };
  return authorizeInCall(request, caller, target, deps, retryOnce, { reason: `${refusal.message}${asked}.` });
}
