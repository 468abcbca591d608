import {
  isInitializeRequest,
  type InitializeRequest,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
} from '@modelcontextprotocol/sdk/types.js';

/** `_meta` key of a request related to a task (MCP 2025-11-25); its shape is left to the schema. */
const RELATED_TASK_KEY = 'io.modelcontextprotocol/related-task';
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON-RPC id as MCP allows it: a string or a safe integer (what the schema's `int()` checks). */
function isId(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
}

function keysWithin(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key of Object.keys(value)) if (!allowed.has(key)) return false;
  return true;
}

/**
 * An object the schema keeps as it is: an own `__proto__` key (JSON.parse makes one) is dropped by
 * the schema's copy, so such objects are left to it.
 */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && !Object.hasOwn(value, '__proto__');
}

/** `params` or `result` whose `_meta`, if any, holds at most a well-formed progress token. */
function isPlainBody(value: unknown): boolean {
  if (!isPlainRecord(value)) return false;
  const meta = value._meta;
  if (meta === undefined) return true;
  return (
    isPlainRecord(meta) &&
    !(RELATED_TASK_KEY in meta) &&
    (meta.progressToken === undefined || isId(meta.progressToken))
  );
}

/**
 * True when `value` is certainly a JSON-RPC request, notification or result the SDK's message
 * schema accepts, checked by hand. False means "not shown": the schema decides (errors, task
 * metadata and anything unusual go there).
 */
function plainlyValid(value: unknown): boolean {
  if (!isRecord(value) || value.jsonrpc !== '2.0') return false;
  if ('method' in value) {
    if (typeof value.method !== 'string') return false;
    if (value.params !== undefined && !isPlainBody(value.params)) return false;
    return 'id' in value
      ? isId(value.id) && keysWithin(value, REQUEST_KEYS)
      : keysWithin(value, NOTIFICATION_KEYS);
  }
  return 'result' in value && isId(value.id) && isPlainBody(value.result) && keysWithin(value, RESULT_KEYS);
}

/**
 * `value` as a JSON-RPC message, exactly as the SDK's `JSONRPCMessageSchema.parse` decides, and
 * throwing as it does. The common shapes (a request, notification or result whose `_meta` holds
 * no more than a progress token) are checked by hand and returned as they are: the schema's parse
 * builds a copy of every object it checks, which cost the hub a measurable share of each tool call
 * on a path where every message is parsed twice (once here, once by the SDK's protocol layer).
 */
export function parseJsonRpcMessage(value: unknown): JSONRPCMessage {
  if (plainlyValid(value)) return value as JSONRPCMessage; // checked above against the schema's rules
  return JSONRPCMessageSchema.parse(value);
}

/** True for an `initialize` request (the schema is only run on messages named so). */
export function isInitializeMessage(value: unknown): value is InitializeRequest {
  return isRecord(value) && value.method === 'initialize' && isInitializeRequest(value);
}
