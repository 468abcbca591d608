import type { Readable } from 'node:stream';
import { type Dispatcher, request as undiciRequest } from 'undici';
import { HubError, isHubError } from '../errors/index.js';
import { type IpAddress, parseIpAddress } from './address-ranges.js';
import {
  type ChunkSource,
  StagedBody,
  bodyStageOf,
  markStaged,
  wantsDirectBody,
  webStreamOf,
  withDirectBody,
} from './body-stage.js';
import { Deadline } from './deadline.js';
import { egressFailed, hostNotAllowed } from './egress-errors.js';
import type { EgressPolicy } from './egress-policy.js';
import { type EgressTarget, checkUrlShape, targetOfUrl } from './egress-target.js';

/** `fetch` as the hub's HTTP callers (the MCP SDK's transports, OAuth) take it. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** The caps one guarded fetch applies to each request. */
export interface EgressLimits {
  /** Largest response body passed on, in bytes (the `Content-Length` is checked first); `Infinity` for none. */
  maxResponseBytes: number;
  /**
   * Time cap of the whole request, redirects and body included, in ms; `Infinity` for none. With
   * `streaming`, it stops at the final response's headers.
   */
  timeoutMs: number;
  /** 307/308 hops followed before the request fails (SS-08). */
  maxRedirects: number;
  /**
   * For long-lived responses (MCP's SSE streams): the time cap ends at the response headers, and a
   * `text/event-stream` body has no size cap. Other bodies keep theirs.
   */
  streaming: boolean;
}

/** What a guarded fetch is built from. */
export interface GuardedFetchDeps {
  /** The pinned dispatcher: it checks, resolves and pins every connection. */
  dispatcher: Dispatcher;
  policy: EgressPolicy;
  limits: EgressLimits;
}

/** Redirect statuses (Fetch standard); of these, only 307 and 308 are followed. */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers that carry the caller's credentials and must not reach another origin (SS-15). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'] as const;

/** One request as the guard resends it hop by hop. */
interface OutboundRequest {
  method: string;
  /** Lower-case names, as fetch's `Headers` would list them. */
  headers: Record<string, string>;
  body: Uint8Array | null;
}

/**
 * A `fetch` whose every hop goes through the guard (docs/security.md, "Egress"): URL rules before any
 * socket, the pinned dispatcher for DNS and addresses, redirects followed by hand (307/308
 * only, each hop re-checked, at most `maxRedirects`, credentials dropped across origins), and the
 * response's size and time caps. A refused destination throws `HUB_ERR_EGRESS_DENIED`; a network
 * failure stays fetch's `TypeError`, which transports treat as a transport failure.
 */
export function createGuardedFetch(deps: GuardedFetchDeps): FetchLike {
  const shapes = new UrlShapes();
  return (url, init) => guardedFetch(url, init ?? {}, deps, shapes);
}

/** A URL's checked shape: what {@link checkUrlShape} and the literal-address parse made of it. */
interface UrlShape {
  url: URL;
  target: EgressTarget;
  literal: IpAddress | undefined;
}

/** Most shapes one guard remembers; past it, it starts over. */
const MAX_URL_SHAPES = 256;

/**
 * Shapes of the URLs a guard was asked for, by their text: an MCP transport sends every request to
 * one URL, which is then parsed and checked once rather than per request. Only well-formed URLs are
 * kept; the policy still decides on every request. The URLs are never changed once made.
 */
class UrlShapes {
  private readonly byHref = new Map<string, UrlShape>();

  of(input: string | URL): UrlShape {
    const key = typeof input === 'string' ? input : input.href;
    const known = this.byHref.get(key);
    if (known !== undefined) return known;
    const shape = checkUrlShape(input, 'strip');
    if (!shape.ok) throw new HubError(shape.code, { message: shape.message });
    const target = targetOfUrl(shape.value);
    if (target === undefined) throw hostNotAllowed(shape.value.hostname, 'no usable port');
    const made = { url: shape.value, target, literal: parseIpAddress(target.hostname) };
    if (this.byHref.size >= MAX_URL_SHAPES) this.byHref.clear();
    this.byHref.set(key, made);
    return made;
  }
}

async function guardedFetch(
  input: string | URL,
  init: RequestInit,
  deps: GuardedFetchDeps,
  shapes: UrlShapes,
): Promise<Response> {
  let url = preflight(shapes.of(input), deps.policy);
  const request = await readRequest(url, init);
  const redirectMode = init.redirect ?? 'follow';
  const deadline = new Deadline(deps.limits.timeoutMs, init.signal ?? undefined);
  try {
    for (let hops = 0; ; hops += 1) {
      const upstream = await sendOnce(url, request, deadline.signal, deps.dispatcher);
      const location = headerOf(upstream.headers, 'location');
      // Fetch standard: a redirect status without a Location is an ordinary response.
      if (!REDIRECT_STATUSES.has(upstream.status) || location === null || redirectMode === 'manual') {
        return finish(upstream, url.href, hops > 0, deadline, deps.limits, init);
      }
      upstream.body.destroy();
      if (redirectMode === 'error') throw new TypeError('fetch failed: redirect with redirect mode "error"');
      if (upstream.status !== 307 && upstream.status !== 308) {
        // 301/302/303 may turn a POST into a GET and are how SSRF chains usually start (SS-08).
        throw egressFailed(`Upstream redirect (HTTP ${upstream.status}) not followed: only 307 and 308 are`);
      }
      if (hops >= deps.limits.maxRedirects) throw egressFailed('Upstream redirected too many times');
      const next = preflight(shapes.of(resolveLocation(location, url)), deps.policy);
      if (next.origin !== url.origin) {
        for (const name of CREDENTIAL_HEADERS) delete request.headers[name];
      }
      url = next;
    }
  } catch (error) {
    deadline.dispose();
    throw unwrapFetchError(error);
  }
}

/**
 * The checks that need no DNS, run before each hop so a refused URL never reaches the dispatcher:
 * the URL's shape (checked once per URL by {@link UrlShapes}), and an IP literal against the policy
 * (on every request). The dispatcher checks again when it connects.
 */
function preflight({ url, target, literal }: UrlShape, policy: EgressPolicy): URL {
  if (literal !== undefined && !policy.allows(target, literal)) {
    throw hostNotAllowed(target.hostname, `${literal.range()} address, not allowlisted`);
  }
  return url;
}

function resolveLocation(location: string, base: URL): URL {
  try {
    return new URL(location, base);
  } catch {
    throw egressFailed('Upstream redirect has an invalid Location');
  }
}

/**
 * The global `Request` applies fetch's own rules (method names, body types, their default
 * Content-Type); the body is read once so a 307/308 can send it again (RFC 9110 §15.4.8). The hub's
 * request bodies are small JSON or form documents.
 */
async function readRequest(url: URL, init: RequestInit): Promise<OutboundRequest> {
  // The MCP transports' case on every tool call (a JSON string or no body): read directly, which
  // costs a fraction of building a Request. fetch's own rules apply to everything else.
  const body = init.body;
  if (body === undefined || body === null || typeof body === 'string') {
    const method = normalizedMethod(init.method ?? 'GET');
    const headers = plainHeaders(init.headers) ?? Object.fromEntries(new Headers(init.headers));
    if (typeof body === 'string' && headers['content-type'] === undefined)
      headers['content-type'] = 'text/plain;charset=UTF-8';
    if (method !== undefined && (typeof body !== 'string' || (method !== 'GET' && method !== 'HEAD')))
      return { method, headers, body: typeof body === 'string' ? Buffer.from(body, 'utf8') : null };
  }
  // Without the caller's signal: a Request would hang a listener on it until garbage collection,
  // and MCP transports reuse one signal for every request. The Deadline follows the signal instead.
  const request = new Request(url, { ...init, signal: null });
  const read = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  return { method: request.method, headers: Object.fromEntries(request.headers), body: read };
}

/** A header name (RFC 9110 §5.1: a token). */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What fetch refuses in a header value once its ends are trimmed: NUL, CR, LF, or past one byte. */
const BAD_HEADER_VALUE = /[\0\r\n]|[^\0-\xff]/;
/** What fetch trims from both ends of a header value (HTTP whitespace). */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/**
 * A plain object of headers (what the MCP transports pass) as fetch's `Headers` would list them:
 * names lower-cased, values trimmed. Undefined for anything else, or anything `Headers` would
 * refuse or join (a bad name or value, a name given twice): `Headers` then decides, as before.
 */
function plainHeaders(init: RequestInit['headers']): Record<string, string> | undefined {
  if (init === undefined) return {};
  if (init instanceof Headers || Array.isArray(init)) return undefined;
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(init)) {
    if (typeof raw !== 'string' || !HEADER_NAME.test(name)) return undefined;
    const key = name.toLowerCase();
    const value = raw.replace(EDGE_WHITESPACE, '');
    if (headers[key] !== undefined || BAD_HEADER_VALUE.test(value)) return undefined;
    headers[key] = value;
  }
  return headers;
}

/** Fetch's method normalization for the methods it upper-cases; undefined for anything else. */
function normalizedMethod(method: string): string | undefined {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : undefined;
}

/** One hop's answer: what {@link finish} and the redirect loop read. */
interface HopResponse {
  status: number;
  /** undici's header record (lower-case names), converted once, by the `Response` built from it. */
  headers: IncomingHeaders;
  body: Readable;
}

type IncomingHeaders = Dispatcher.ResponseData['headers'];

/** A header of a hop (undici joins nothing: a repeated header is an array; the first counts here). */
function headerOf(headers: IncomingHeaders, name: string): string | null {
  const value = headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

/**
 * Sends one hop with undici's `request` (its dispatcher API): fetch's own machinery (a second
 * Request, a streamed request body written chunk by chunk, web streams end to end) costs more
 * than everything else the hub does on a tool call. A network failure is reported as fetch would
 * (`TypeError('fetch failed')`, the cause attached); the guard's own refusals stay HubErrors.
 */
async function sendOnce(
  url: URL,
  request: OutboundRequest,
  signal: AbortSignal,
  dispatcher: Dispatcher,
): Promise<HopResponse> {
  let answer: Dispatcher.ResponseData;
  try {
    answer = await undiciRequest(url, {
      method: request.method, // normalized by readRequest or by fetch's Request
      headers: request.headers,
      body: request.body,
      signal,
      dispatcher,
    });
  } catch (error) {
    if (isHubError(error) || signal.aborted) throw error;
    throw new TypeError('fetch failed', { cause: error });
  }
  // Errors reach the reader through the body's iterator; this listener only keeps a destroy after
  // a cancel (undici then emits an AbortError) from becoming an uncaught exception.
  answer.body.on('error', () => undefined);
  return { status: answer.statusCode, headers: answer.headers, body: answer.body };
}

/** Statuses whose responses have no body (Fetch standard, "null body status"). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/**
 * The final hop as a global `Response`: its headers converted once (by the constructor), its body
 * one {@link StagedBody} over Node's body with the size cap and the request's stage inside (SS-16:
 * counted as it streams, never buffered whole; going over aborts the request): a web stream, or,
 * for a successful answer to a request that asked for it, a direct body (`DIRECT_BODY`). `url`
 * and `redirected` describe the hops the guard followed.
 */
function finish(
  upstream: HopResponse,
  url: string,
  redirected: boolean,
  deadline: Deadline,
  limits: EgressLimits,
  init: RequestInit,
): Response {
  const stages = bodyStageOf(init);
  const contentType = headerOf(upstream.headers, 'content-type') ?? '';
  const endless = limits.streaming && contentType.toLowerCase().startsWith('text/event-stream');
  const maxBytes = endless ? Infinity : limits.maxResponseBytes;
  const declared = Number(headerOf(upstream.headers, 'content-length') ?? '0');
  if (declared > maxBytes) {
    const tooLarge = egressFailed('Upstream response is too large');
    deadline.abort(tooLarge);
    throw tooLarge;
  }
  if (limits.streaming) deadline.stopTimer();
  const hasBody = !NULL_BODY_STATUSES.has(upstream.status);
  const stage = hasBody
    ? stages?.({ status: upstream.status, header: (name) => headerOf(upstream.headers, name) })
    : undefined;
  // A stage may change the body, so its length no longer holds.
  const head = { status: upstream.status, headers: headerPairs(upstream.headers, stage !== undefined) };
  let response: Response;
  if (hasBody) {
    const body = new StagedBody(nodeSource(upstream.body), stage, {
      maxBytes,
      tooLarge: () => egressFailed('Upstream response is too large'),
      abort: (reason) => deadline.abort(reason),
      onSettled: () => deadline.dispose(),
    });
    const direct = upstream.status >= 200 && upstream.status < 300 && wantsDirectBody(init);
    response = direct
      ? withDirectBody(new Response(null, head), body)
      : new Response(webStreamOf(body), head);
  } else {
    upstream.body.destroy();
    deadline.dispose();
    response = new Response(null, head);
  }
  // The constructor leaves `url` empty and `redirected` false; callers resolve relative links
  // against the URL that answered, as they would with fetch's own response.
  Object.defineProperty(response, 'url', { value: url });
  Object.defineProperty(response, 'redirected', { value: redirected });
  return stages === undefined ? response : markStaged(response);
}

function headerPairs(headers: IncomingHeaders, dropLength: boolean): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (dropLength && name === 'content-length')) continue;
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Node's body as a {@link ChunkSource}, pulled chunk by chunk; cancelling destroys it (and frees its
 * socket). Node 20's `Readable.toWeb` is not used: it enqueues into a cancelled stream and throws
 * outside any caller.
 */
function nodeSource(body: Readable): ChunkSource {
  const chunks: AsyncIterator<Uint8Array> = body[Symbol.asyncIterator]();
  return {
    async read() {
      const next = await chunks.next();
      return next.done === true ? { done: true, value: undefined } : { done: false, value: next.value };
    },
    async cancel(reason) {
      body.destroy(reason instanceof Error ? reason : undefined);
      await chunks.return?.()?.catch(() => undefined);
    },
  };
}

/**
 * undici reports a connector failure as `TypeError('fetch failed', {cause})`; a refusal by the
 * guard's dispatcher surfaces as its own HubError so callers branch on the code.
 */
function unwrapFetchError(error: unknown): unknown {
  if (error instanceof TypeError && isHubError(error.cause)) return error.cause;
  return error;
}
