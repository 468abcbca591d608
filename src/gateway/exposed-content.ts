import type { CallToolResult, GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { exposedUri } from './names.js';

type Block = CallToolResult['content'][number];

/**
 * One content block with its resource URI (a link's, or an embedded resource's) namespaced. A
 * prompt's blocks come unvalidated from the upstream, so every field is checked before use.
 */
function exposeBlock(serverName: string, block: Block): Block {
  const resource: unknown = block.type === 'resource' ? block.resource : undefined;
  if (block.type === 'resource_link' && typeof block.uri === 'string')
    return { ...block, uri: exposedUri(serverName, block.uri) };
  if (block.type === 'resource' && isObject(resource) && typeof resource.uri === 'string')
    return { ...block, resource: { ...block.resource, uri: exposedUri(serverName, resource.uri) } };
  return block;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * A tool result of `serverName` as a client of the aggregated endpoint must see it: resource
 * links and embedded resources name exposed URIs, which that client can read (or subscribe to)
 * through the hub; the upstream's own URIs mean nothing there.
 */
export function exposeToolResult(serverName: string, result: CallToolResult): CallToolResult {
  // Content the SDK's client did not validate as an array is left as it came.
  if (!Array.isArray(result.content)) return result;
  return { ...result, content: result.content.map((block) => exposeBlock(serverName, block)) };
}

/** A prompt of `serverName` with its messages' resource URIs namespaced, as for a tool result. */
export function exposePromptResult(serverName: string, result: GetPromptResult): GetPromptResult {
  if (!Array.isArray(result.messages)) return result;
  return {
    ...result,
    messages: result.messages.map((m) =>
      isObject(m) && isObject(m.content) ? { ...m, content: exposeBlock(serverName, m.content) } : m,
    ),
  };
}
