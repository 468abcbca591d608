import type { z } from 'zod';
import { HubError } from '../errors/index.js';
import {
  completionResultSchema,
  emptyResultSchema,
  promptListSchema,
  promptResultSchema,
  readResourceResultSchema,
  resourceListSchema,
  resourceTemplateListSchema,
} from './result-schemas.js';
import { requestFromServer, type ServerTarget } from './server-requests.js';

/** A page request: the upstream's own cursor from the previous page's `nextCursor`, or none for the first. */
const page = (cursor: string | undefined) => (cursor === undefined ? undefined : { cursor });

/** One page of the server's resources; `nextCursor` passed through as the upstream gave it. */
export function listResources(
  target: ServerTarget,
  cursor?: string,
): Promise<z.infer<typeof resourceListSchema>> {
  return requestFromServer(target, 'resources', 'resources/list', page(cursor), resourceListSchema);
}

/** One page of the server's resource templates. */
export function listResourceTemplates(
  target: ServerTarget,
  cursor?: string,
): Promise<z.infer<typeof resourceTemplateListSchema>> {
  return requestFromServer(
    target,
    'resources',
    'resources/templates/list',
    page(cursor),
    resourceTemplateListSchema,
  );
}

/** Reads one resource by the upstream's own URI: its contents, text or base64 blob, as given. */
export function readResource(
  target: ServerTarget,
  uri: string,
): Promise<z.infer<typeof readResourceResultSchema>> {
  return requestFromServer(target, 'resources', 'resources/read', { uri }, readResourceResultSchema);
}

/** One page of the server's prompts. */
export function listPrompts(
  target: ServerTarget,
  cursor?: string,
): Promise<z.infer<typeof promptListSchema>> {
  return requestFromServer(target, 'prompts', 'prompts/list', page(cursor), promptListSchema);
}

/** A prompt filled with the caller's arguments. */
export function getPrompt(
  target: ServerTarget,
  name: string,
  args: Record<string, string> | undefined,
): Promise<z.infer<typeof promptResultSchema>> {
  const params = args === undefined ? { name } : { name, arguments: args };
  return requestFromServer(target, 'prompts', 'prompts/get', params, promptResultSchema);
}

/** What `completion/complete` asks (MCP 2025-11-25, completion): which prompt or template, which argument. */
export interface CompletionRequest {
  ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
  argument: { name: string; value: string };
  /** Values of the arguments already filled in. */
  context?: { arguments?: Record<string, string> | undefined };
}

/** Completion values for one argument of a prompt or resource template. */
export function complete(
  target: ServerTarget,
  request: CompletionRequest,
): Promise<z.infer<typeof completionResultSchema>> {
  const params = { ...request };
  return requestFromServer(target, 'completions', 'completion/complete', params, completionResultSchema);
}

/** Log levels of MCP (RFC 5424 severities). */
export const LOG_LEVELS = [
  'debug',
  'info',
  'notice',
  'warning',
  'error',
  'critical',
  'alert',
  'emergency',
] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Sets the level of the log messages the server sends on the caller's REST connection, which
 * streamed tool calls relay as `log` events. The level belongs to the connection (MCP
 * `logging/setLevel` sets it for the session), so only a connection that is the caller's alone takes
 * it: a shared (app-level) server's one connection serves every user, and one user's level would
 * change what all the others hear. It lasts as long as that connection.
 */
export async function setLogLevel(target: ServerTarget, level: LogLevel): Promise<void> {
  if (target.upstreams.scope(target.server) === 'app') {
    throw new HubError('HUB_ERR_CONFLICT', {
      message: `MCP server '${target.server.name}' has one connection shared by every user; its log level cannot be set per user`,
      details: { reason: 'shared-connection' },
    });
  }
  await requestFromServer(target, 'logging', 'logging/setLevel', { level }, emptyResultSchema);
}
