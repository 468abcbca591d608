import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { fieldOf } from './unanswered-request.js';

/** Hears that the upstream's request `serverRequestId` came on the stream answering `clientRequestId`. */
export type RelatedRequestListener = (serverRequestId: RequestId, clientRequestId: RequestId) => void;

/**
 * The `RequestInit` key under which a transport that sent a JSON-RPC message says which request id
 * it carried (`undefined` for a notification or a response), so the stage reading the answer need
 * not parse the body it was sent to learn it.
 */
export const POSTED_ID: unique symbol = Symbol('switchboard.postedId');

/** A `RequestInit` that may say which request it posts. */
export interface PostedMessageInit extends RequestInit {
  [POSTED_ID]?: RequestId | undefined;
}

/** A larger event is a result, not a request worth attributing; it is never joined or parsed. */
const MAX_SCANNED_EVENT_BYTES = 4 * 1024 * 1024;

const METHOD_KEY = Buffer.from('"method"');

/**
 * Streamable HTTP servers send the requests a client request leads to (sampling, elicitation) on
 * that request's own response stream (MCP 2025-06-18 basic/transports: "the server MAY send
 * JSON-RPC requests and notifications before sending the JSON-RPC response. These messages SHOULD
 * relate to the originating client request"). The SDK's transport does not say which stream a
 * message came on, so the pass-through stage reads each whole event of a POST's stream with this
 * before the SDK sees it: the one sure way to tell which of several calls sharing a connection a
 * request belongs to.
 *
 * The id of the JSON-RPC request one event carries (its lines, without line ends), or null when it
 * carries none. Results are most events and may be large: only an event whose data mentions
 * `"method"` is parsed.
 */
export function requestIdOfEvent(lines: readonly Buffer[]): RequestId | null {
  let type: string | undefined;
  const data: Buffer[] = [];
  let bytes = 0;
  for (const line of lines) {
    const field = fieldOf(line);
    if (field?.name === 'event') type = field.value.toString('utf8');
    else if (field?.name === 'data') {
      data.push(field.value);
      bytes += field.value.length + 1;
    }
  }
  if ((type !== undefined && type !== 'message' && type !== '') || data.length === 0) return null;
  if (bytes > MAX_SCANNED_EVENT_BYTES || !data.some((part) => part.includes(METHOD_KEY))) return null;
  // WHATWG HTML §9.2.6: an event's data is its data lines joined by line feeds.
  return requestIdOf(data.map((part) => part.toString('utf8')).join('\n'));
}

/** The id of the JSON-RPC request in `text`, or null when it is not one (or not JSON). */
export function requestIdOf(text: string): RequestId | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return null;
  const { id, method } = message as { id?: unknown; method?: unknown }; // narrowed field by field below
  if (typeof method !== 'string') return null;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
