import { AsyncLocalStorage } from 'node:async_hooks';
import type { FetchLike } from '../connections/index.js';

/**
 * Headers of the calling request a server's `requestHeaders` may name. Correlation and tracing
 * only: a credential (`authorization`, `cookie`, the hub's own tokens) or a hop-by-hop header must
 * never travel from the hub's caller to an upstream, whatever the config says.
 */
export const FORWARDABLE_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'x-conversation-id',
  'x-message-id',
  'x-parent-message-id',
  'x-request-id',
  'x-correlation-id',
  'traceparent',
  'tracestate',
]);

/**
 * LibreChat fills these from the chat request's body; a standalone hub has no chat body, so each
 * reads the request header a LibreChat-aware caller sends for the same field.
 */
const LIBRECHAT_BODY_FIELDS: ReadonlyMap<string, string> = new Map([
  ['CONVERSATIONID', 'x-conversation-id'],
  ['MESSAGEID', 'x-message-id'],
  ['PARENTMESSAGEID', 'x-parent-message-id'],
]);

/**
 * Upstream header names `requestHeaders` may not set: the transport's own framing and MCP session
 * headers (overwriting them breaks the connection) and hop-by-hop headers (RFC 9110 §7.6.1).
 */
const PROTECTED_UPSTREAM_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'content-type',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

/** Longest forwarded value; trace headers are far shorter (W3C `tracestate` caps near 512). */
const MAX_VALUE_LENGTH = 1024;

/** A forwarded value: visible ASCII and spaces only, so no CR, LF or NUL can split a header. */
const SAFE_VALUE = /^[\x20-\x7e]*$/;

const PLACEHOLDER = /\{\{\s*(HUB_REQUEST_HEADER_([A-Za-z0-9_-]+)|LIBRECHAT_BODY_([A-Za-z0-9_]+))\s*\}\}/g;

/** Allowlisted headers of the request that made the current call: lower-case name → value. */
export type CallHeaders = Readonly<Record<string, string>>;

const current = new AsyncLocalStorage<CallHeaders>();

/** The request's allowlisted headers whose values are safe to forward; the rest are dropped. */
export function forwardableHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined,
): CallHeaders {
  const picked: Record<string, string> = {};
  for (const [rawName, raw] of Object.entries(headers ?? {})) {
    const name = rawName.toLowerCase();
    if (!FORWARDABLE_REQUEST_HEADERS.has(name)) continue;
    // A repeated header is ambiguous; forwarding either copy would be a guess.
    if (typeof raw !== 'string') continue;
    const value = raw.trim();
    if (value.length === 0 || value.length > MAX_VALUE_LENGTH || !SAFE_VALUE.test(value)) continue;
    picked[name] = value;
  }
  return picked;
}

/**
 * Runs one upstream call with the calling request's headers in scope. The SDK sends the request
 * from inside the call's own promise chain, so only that call's HTTP requests see them; others on
 * the same shared connection run outside this scope. Only a server with `requestHeaders` reads
 * them, and only a non-empty set can fill one: otherwise the call runs as is, since entering an
 * async context turns on promise tracking for the rest of the process.
 */
export function withCallHeaders<T>(
  config: object,
  headers: CallHeaders | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const templated = 'requestHeaders' in config && config.requestHeaders !== undefined;
  if (!templated || headers === undefined || Object.keys(headers).length === 0) return run();
  return current.run(headers, run);
}

/** The source header a placeholder names, or undefined when it names none the allowlist holds. */
function sourceOf(headerForm: string | undefined, bodyField: string | undefined): string | undefined {
  const name =
    headerForm !== undefined
      ? headerForm.toLowerCase().replaceAll('_', '-')
      : LIBRECHAT_BODY_FIELDS.get((bodyField ?? '').toUpperCase());
  return name !== undefined && FORWARDABLE_REQUEST_HEADERS.has(name) ? name : undefined;
}

/**
 * The `requestHeaders` templates filled from the call's headers. A header whose placeholder names
 * a header outside the allowlist, or one the request did not send, is left out entirely (LibreChat
 * leaves it out when there is no request context, too); so is one aimed at a protected name.
 */
export function resolveRequestHeaders(
  templates: Readonly<Record<string, string>>,
  call: CallHeaders,
): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates)) {
    if (PROTECTED_UPSTREAM_HEADERS.has(name.toLowerCase())) continue;
    let complete = true;
    const value = template.replace(PLACEHOLDER, (_whole, _p, headerForm?: string, bodyField?: string) => {
      const source = sourceOf(headerForm, bodyField);
      const found = source !== undefined && Object.hasOwn(call, source) ? call[source] : undefined;
      if (found === undefined) complete = false;
      return found ?? '';
    });
    if (!complete || value.length > MAX_VALUE_LENGTH || !SAFE_VALUE.test(value)) continue;
    resolved[name] = value;
  }
  return resolved;
}

/**
 * A fetch that adds the server's `requestHeaders`, filled from the current call, over the
 * request's own headers (LibreChat: on a duplicate name the request value wins). Outside a call
 * (connect, the standalone SSE stream, tool listing) nothing is added.
 */
export function addRequestHeaders(fetch: FetchLike, templates: Readonly<Record<string, string>>): FetchLike {
  return (url, init) => {
    const call = current.getStore();
    if (!call) return fetch(url, init);
    const extra = resolveRequestHeaders(templates, call);
    if (Object.keys(extra).length === 0) return fetch(url, init);
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return fetch(url, { ...init, headers });
  };
}
