import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Between the instance id and the SDK's own request id in what the client sees. */
const SEPARATOR = '~';

/**
 * Routes a client's answers to the server→client requests of one session copy (sampling,
 * elicitation, roots) back to the instance that sent them. Each copy numbers its requests from 0,
 * so the ids it sends are prefixed with its instance id: with round-robin the answer, a POST of its
 * own, may reach another instance, which hands it to `forward` (the KV channel) instead of its own
 * copy, where it would be unknown or, worse, taken for an answer to a request of the same number.
 * Call after `server.connect(transport)`.
 */
export function routeAnswers(
  transport: Transport,
  instance: string,
  forward: (to: string, message: JSONRPCMessage) => void,
): void {
  const send = transport.send.bind(transport);
  transport.send = (message, options) =>
    send(
      'method' in message && 'id' in message
        ? { ...message, id: `${instance}${SEPARATOR}${message.id}` }
        : message,
      options,
    );
  const onmessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    // The messages are JSON-RPC already (the transport parsed them): a result or an error is an answer.
    const id = 'result' in message || 'error' in message ? message.id : undefined;
    if (typeof id !== 'string' || !id.includes(SEPARATOR)) return onmessage?.(message, extra);
    const at = id.lastIndexOf(SEPARATOR);
    const to = id.slice(0, at);
    if (to !== instance) return forward(to, message);
    const own = Number(id.slice(at + SEPARATOR.length));
    return onmessage?.({ ...message, id: own }, extra); // the same answer, our own id
  };
}
