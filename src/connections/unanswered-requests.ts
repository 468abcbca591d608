import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * The ids of the requests a client transport sent and has not seen answered, so that a message it
 * had to drop can be pinned on a request: when only one is waiting, it is the one.
 */
export class UnansweredRequests {
  private readonly ids = new Set<RequestId>();

  /** Notes an outgoing message: a request starts waiting, a cancellation ends one. */
  sent(message: JSONRPCMessage): void {
    if ('method' in message && 'id' in message) this.ids.add(message.id);
    // A cancelled request may never be answered (MCP basic/utilities/cancellation).
    else if ('method' in message && message.method === 'notifications/cancelled') {
      const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      if (cancelled !== undefined) this.ids.delete(cancelled);
    }
  }

  /** Notes an incoming message: a response ends the request it answers. */
  received(message: JSONRPCMessage): void {
    if ('method' in message) return;
    const answered = (message as { id?: RequestId }).id;
    if (answered !== undefined) this.ids.delete(answered);
  }

  /** Takes `id` out of the set; false when it was not waiting. */
  take(id: RequestId): boolean {
    return this.ids.delete(id);
  }

  /** The one request waiting, taken out of the set; undefined when none or several are. */
  takeOnly(): RequestId | undefined {
    if (this.ids.size !== 1) return undefined;
    const [only] = this.ids;
    if (only !== undefined) this.ids.delete(only);
    return only;
  }
}
