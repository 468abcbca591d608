import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Identity } from '../../auth/index.js';
import { isHubError } from '../../errors/index.js';
import type { RegisteredServer } from '../../registry/index.js';
import type { AuthorizationStarter } from '../../upstreams/index.js';
import type { OAuthCookies } from '../oauth-cookies.js';

/** What a caller who must authorize (first, or again for more scope) is answered, besides its status. */
export const needsAuthBody = z.object({
  error: z.string(),
  code: z.string(),
  oauthRequired: z.literal(true),
  oauthUrl: z.string(),
  flowId: z.string(),
  /** A step-up: the scope the server asked for (the authorization asks for it plus what was granted). */
  scope: z.string().optional(),
});

/** A plain error body of a route answering `{error, code}`. */
export const errorOnlyBody = z.object({ error: z.string(), code: z.string() });

/** True for the failures that call for an authorization in the browser. */
export const needsAuthorization = (err: unknown): boolean =>
  isHubError(err, 'HUB_ERR_OAUTH_REQUIRED') || isHubError(err, 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE');

/**
 * Starts the caller's authorization for the server and answers where to go: 401
 * HUB_ERR_OAUTH_REQUIRED, or for a step-up (`err` is HUB_ERR_OAUTH_INSUFFICIENT_SCOPE) 403 with the
 * scope asked for; the flow's binding cookie goes with it (the browser that opens the URL carries it).
 */
export async function answerNeedsAuthorization(
  reply: FastifyReply,
  deps: { authorization: AuthorizationStarter; cookies: OAuthCookies },
  caller: Identity,
  server: RegisteredServer,
  err: unknown,
): Promise<FastifyReply> {
  const started = await deps.authorization.start(caller, server);
  deps.cookies.bind(reply, started.flowId, server.name);
  const link = { oauthRequired: true as const, oauthUrl: started.oauthUrl, flowId: started.flowId };
  if (isHubError(err, 'HUB_ERR_OAUTH_INSUFFICIENT_SCOPE')) {
    const scope = err.details?.scope;
    return reply.status(403).send({
      error: err.message,
      code: err.code,
      ...link,
      ...(typeof scope === 'string' ? { scope } : {}),
    });
  }
  return reply.status(401).send({
    error: `MCP server '${server.name}' requires OAuth authentication`,
    code: 'HUB_ERR_OAUTH_REQUIRED',
    ...link,
  });
}
