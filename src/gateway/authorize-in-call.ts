import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ElicitResultSchema,
  type CallToolResult,
  type ProgressToken,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { Random } from '../core/index.js';
import type { OAuthService } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { AuthorizationStarter } from '../upstreams/index.js';
import type { DownstreamExtra } from './downstream-relay.js';

/** What an authorization inside a tool call needs. */
export interface InCallAuthorizationDeps {
  authorization: Pick<AuthorizationStarter, 'start' | 'browserLink'>;
  oauth: Pick<OAuthService, 'waitForFlow'>;
  random: Random;
}

/** As long as the flow itself lives: the user has this long to finish in the browser. */
const AUTHORIZATION_WAIT_MS = 10 * 60_000;
/** Progress while waiting keeps the client's own request timeout from firing. */
const KEEPALIVE_MS = 15_000;

/** The downstream request an authorization happens in: the session's server and the call's context. */
export interface CallInProgress {
  server: Server;
  extra: DownstreamExtra;
  progressToken: ProgressToken | undefined;
}

const toolError = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

/** How an authorization inside a request explains itself, and what the request answers when it is not given. */
export interface InCallOptions<F> {
  /** Why the authorization is needed, in a sentence (default: the server needs the user's authorization). */
  reason?: string;
  /**
   * The request's answer when the user cannot be asked (no URL elicitation), declines, or the flow
   * fails: `text` says why and carries `link`. Default: a tool error with `text` (a `tools/call`).
   */
  refuse?: (text: string, link: string) => F;
}

/**
 * The call's server needs an authorization the caller has not given. A client that declared URL
 * elicitation (MCP 2025-11-25) is asked to open the hub's sign-in link for the flow; once the user
 * accepts, the call waits for the flow to complete (progress keeps it alive), tells the client the
 * elicitation is complete, and runs `retry` once (its result is the call's). Any other client, or a
 * user who declines, gets what `options.refuse` makes of the link to open before calling again (a
 * tool error by default).
 */
export async function authorizeInCall<R, F = CallToolResult>(
  request: CallInProgress,
  caller: Identity,
  target: RegisteredServer,
  deps: InCallAuthorizationDeps,
  retry: () => Promise<R>,
  options: InCallOptions<F> = {},
): Promise<R | F> {
  const { server, extra, progressToken } = request;
  const { reason } = options;
  // Without `refuse`, F is its default, CallToolResult: the tool error is that.
  const refuse = options.refuse ?? ((text: string) => toolError(text) as F);
  const started = await deps.authorization.start(caller, target);
  const link = await deps.authorization.browserLink(caller, target, started.flowId);
  const instead = `${reason ?? `MCP server '${target.name}' needs your authorization.`} Open this link in a browser, sign in to Switchboard, then call the tool again: ${link}`;
  if (server.getClientCapabilities()?.elicitation?.url === undefined) return refuse(instead, link);

  const elicitationId = deps.random.bytes(16).toString('hex');
  const answer = await extra.sendRequest(
    {
      method: 'elicitation/create',
      params: {
        mode: 'url',
        elicitationId,
        url: link,
        message: `${reason ?? `Switchboard needs your authorization to use '${target.name}' for you.`} Open the link, sign in, and approve access; the tool call continues once you are done.`,
      },
    },
    ElicitResultSchema,
    { signal: extra.signal },
  );
  if (answer.action !== 'accept')
    return refuse(`Authorization of '${target.name}' was not given. ${instead}`, link);

  const outcome = await withKeepalive(extra, progressToken, target.name, () =>
    deps.oauth.waitForFlow(started.flowId, AUTHORIZATION_WAIT_MS, extra.signal),
  );
  if (outcome?.status !== 'COMPLETED') {
    const why = outcome?.status === 'FAILED' ? 'failed' : 'did not finish in time';
    return refuse(`Authorization of '${target.name}' ${why}. ${instead}`, link);
  }
  await server
    .createElicitationCompletionNotifier(elicitationId, { relatedRequestId: extra.requestId })()
    .catch(() => undefined); // the client may have gone; the call still runs
  return retry();
}

/** Runs `wait`, sending a progress notification every {@link KEEPALIVE_MS} when the call asked for progress. */
async function withKeepalive<T>(
  extra: DownstreamExtra,
  progressToken: ProgressToken | undefined,
  serverName: string,
  wait: () => Promise<T>,
): Promise<T> {
  if (progressToken === undefined) return wait();
  let ticks = 0;
  const timer = setInterval(() => {
    ticks += 1;
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: ticks,
          message: `Waiting for the authorization of '${serverName}'`,
        },
      })
      .catch(() => undefined);
  }, KEEPALIVE_MS);
  try {
    return await wait();
  } finally {
    clearInterval(timer);
  }
}
