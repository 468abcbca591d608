import { randomUUID } from 'node:crypto';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { HubError } from '../errors/index.js';

/** The largest JSON-RPC message the hub takes from an upstream unless `mcpSettings.maxResultBytes` says otherwise. */
export const DEFAULT_MAX_RESULT_BYTES = 10 * 1024 * 1024;

/**
 * The JSON-RPC error code the hub answers an oversized result with, in the range JSON-RPC 2.0 §5.1
 * leaves to implementations (-32000 to -32099).
 */
export const RESULT_TOO_LARGE_CODE = -32_070;

/**
 * A value only this process knows, put in the error it makes up for an oversized result: an
 * upstream cannot send an error that passes for one of ours (it never sees the value).
 */
const MARKER = randomUUID();

/** What a transport knows when it drops an oversized message: the limit, and the request it answered. */
export interface OversizedResult {
  maxBytes: number;
  id: RequestId;
}

/**
 * The JSON-RPC error response a transport hands the SDK client in place of a result that went
 * past the limit: the one request it answered fails, and the connection stays as it was.
 */
export function resultTooLargeResponse({ maxBytes, id }: OversizedResult): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: RESULT_TOO_LARGE_CODE,
      message: `MCP server result is larger than the ${maxBytes}-byte limit (maxResultBytes)`,
      data: { hubResultTooLarge: MARKER, maxResultBytes: maxBytes },
    },
  };
}

/**
 * The HubError for a request that failed with {@link resultTooLargeResponse}, or undefined for any
 * other error (an upstream's own error with the same code included).
 */
export function resultTooLargeError(error: unknown): HubError | undefined {
  if (!(error instanceof McpError) || error.code !== RESULT_TOO_LARGE_CODE) return undefined;
  const data = error.data as { hubResultTooLarge?: unknown; maxResultBytes?: unknown } | undefined;
  if (data?.hubResultTooLarge !== MARKER || typeof data.maxResultBytes !== 'number') return undefined;
  return new HubError('HUB_ERR_RESULT_TOO_LARGE', {
    message: `MCP server result is larger than the ${data.maxResultBytes}-byte limit (maxResultBytes)`,
    details: { maxResultBytes: data.maxResultBytes },
    cause: error,
  });
}

/** How many bytes of each end of a dropped message are kept to find its id. */
export const ID_SCAN_BYTES = 512;

const ID_VALUE = String.raw`(-?\d+|"(?:[^"\\]|\\.)*")`;
/** `{"id":…` or `{"jsonrpc":"2.0","id":…` at the very start (most SDKs but the TypeScript one). */
const ID_AT_START = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*` + ID_VALUE + String.raw`\s*[,}]`,
);
/** `…,"id":…}` closing the top-level object (the TypeScript SDK writes `{result, jsonrpc, id}`). */
const ID_AT_END = new RegExp(String.raw`[,{]\s*"id"\s*:\s*` + ID_VALUE + String.raw`\s*\}\s*$`);

/** `{"method"…`, possibly after `"jsonrpc"` and `"id"`: a request or a notification, not a response. */
const STARTS_AS_REQUEST = new RegExp(
  String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?(?:"id"\s*:\s*` +
    ID_VALUE +
    String.raw`\s*,\s*)?"method"\s*:`,
);

/** A matched id token as a JSON-RPC id; undefined when absent or not a number or string. */
function parsedId(token: string | undefined): RequestId | undefined {
  if (token === undefined) return undefined;
  try {
    const id: unknown = JSON.parse(token);
    return typeof id === 'number' || typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The id of a JSON-RPC response read from its first and last bytes only, for a message too large
 * to parse: a top-level `"id"` first or last in the object (where every common SDK writes it).
 * Anything else (a nested `"id"`, one in the middle, a message that starts as a request) reads as
 * undefined.
 */
export function idFromEnds(head: string, tail: string): RequestId | undefined {
  // A request or notification of the server's own: its id is from the server's side, not ours.
  if (STARTS_AS_REQUEST.test(head)) return undefined;
  const match = ID_AT_START.exec(head) ?? ID_AT_END.exec(tail);
  const token = match?.[1];
  return parsedId(token);
}

/**
 * The id of a JSON-RPC request read from its first and last bytes only, for a request too large to
 * parse for it: a message that starts as a request (`"method"` first, after `"jsonrpc"` and `"id"`
 * if they come first) whose top-level `"id"` is first or last in the object (the TypeScript SDK
 * writes `{method, params, jsonrpc, id}`). Anything else reads as undefined.
 */
export function requestIdFromEnds(head: string, tail: string): RequestId | undefined {
  const start = STARTS_AS_REQUEST.exec(head);
  if (start === null) return undefined;
  const token = start[1] ?? ID_AT_END.exec(tail)?.[1];
  return parsedId(token);
}
