import type { FastifyInstance, FastifyReply } from 'fastify';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * The JSON-RPC error code of a request refused by the tool-call limit, in the range JSON-RPC 2.0
 * §5.1 leaves to implementations (-32000 to -32099); its digits recall HTTP 429.
 */
export const RATE_LIMITED_CODE = -32_029;

/** A JSON-RPC request (it has an id and expects an answer), as far as this file needs to know. */
interface RequestLike {
  method: string;
  id: RequestId;
}

function isRequest(message: unknown): message is RequestLike {
  if (typeof message !== 'object' || message === null) return false;
  const { method, id } = message as Partial<Record<'method' | 'id', unknown>>; // read, then checked
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number');
}

/** The requests a POST body carries: one message, or each of a batch. */
function requestsOf(body: unknown): RequestLike[] {
  return (Array.isArray(body) ? body : [body]).filter(isRequest);
}

/**
 * Counts the `tools/call` requests of a POST to an MCP endpoint against the caller's tool-call
 * budget, the one the REST tool-call route spends too, so switching between the two buys no calls;
 * each call of a batch counts. Past the limit the POST is answered here and `true` returned: HTTP
 * 429 with `Retry-After` (RFC 6585 §4), and in the body a JSON-RPC error for every request it
 * carried, so none of them waits for an answer that will not come.
 *
 * Why a 429 and not a JSON-RPC error inside a 200: MCP's streamable HTTP lets a server answer a
 * POST with an HTTP error, and a 429 is what proxies, gateways and HTTP clients know to back off
 * from. The TypeScript SDK's client fails just the one request on it (a `StreamableHTTPError` with
 * `code` 429 whose message carries this body) and keeps the session, so a client loses nothing a
 * 200 would have given it.
 */
export async function refuseOverToolCallLimit(
  app: FastifyInstance,
  userId: string,
  body: unknown,
  reply: FastifyReply,
): Promise<boolean> {
  const requests = requestsOf(body);
  const calls = requests.filter((request) => request.method === 'tools/call').length;
  if (calls === 0) return false;
  const refused = await app.rateLimitBudgets.spend('toolCalls', userId, calls);
  if (refused === undefined) return false;
  const data = refused.details ?? {};
  const error = { code: RATE_LIMITED_CODE, message: refused.message, data };
  const answers = requests.map((request) => ({ jsonrpc: '2.0' as const, id: request.id, error }));
  const retryAfter = typeof data['retryAfter'] === 'number' ? data['retryAfter'] : 60;
  await reply
    .status(429)
    .header('retry-after', String(retryAfter))
    .type('application/json')
    .send(Array.isArray(body) ? answers : answers[0]);
  return true;
}
