import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { ID_SCAN_BYTES, idFromEnds } from './result-limit.js';

/**
 * The JSON-RPC error response handed to the SDK client for a request whose event stream ended or
 * broke before it carried the answer. The SDK's own code for a connection that closed under a
 * request, so the caller sees an unavailable upstream; nothing of the partial answer is in it.
 */
export function streamCutResponse(id: RequestId): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: ErrorCode.ConnectionClosed,
      message: 'MCP server closed the stream before answering the request',
    },
  };
}

/**
 * Watches the event stream answering one POSTed request (MCP streamable HTTP, 2025-06-18
 * "Sending Messages to the Server"): the server should not close it before the response, and the
 * caller would wait for that response until its timeout when it does, unless the stream can be
 * resumed (the transport then resumes it). Fed whole events in order, it tells whether the stream still owes its answer.
 */
export class UnansweredRequest {
  private answered = false;

  /** `resumable`: the stream is itself a resumption (a GET with `Last-Event-ID`), so it can be resumed again from there. */
  constructor(
    private readonly id: RequestId,
    private resumable = false,
  ) {}

  /** One whole event of the stream: its lines, without their line ends. */
  event(lines: readonly Buffer[]): void {
    let firstData: Buffer | undefined;
    let lastData: Buffer | undefined;
    for (const line of lines) {
      const field = fieldOf(line);
      // An event id makes the stream resumable: the transport comes back with Last-Event-ID and
      // the answer may still come (streamable HTTP, "Resumability and Redelivery").
      if (field?.name === 'id' && field.value.length > 0) this.resumable = true;
      if (field?.name !== 'data') continue;
      firstData ??= field.value;
      lastData = field.value;
    }
    if (firstData === undefined || lastData === undefined) return;
    const head = firstData.subarray(0, ID_SCAN_BYTES).toString('utf8');
    const tail = lastData.subarray(Math.max(0, lastData.length - ID_SCAN_BYTES)).toString('utf8');
    if (idFromEnds(head, tail) === this.id) this.answered = true;
  }

  /** The stream ended here: does the request still wait for an answer nobody will send? */
  get owed(): boolean {
    return !this.answered && !this.resumable;
  }

  /** The event that answers the request in the stream's place (see {@link streamCutResponse}). */
  answer(): Buffer {
    this.answered = true;
    return Buffer.from(`event: message\ndata: ${JSON.stringify(streamCutResponse(this.id))}\n\n`);
  }
}

/** A field line's name and value (WHATWG HTML §9.2.6: one optional space after the colon). */
export function fieldOf(raw: Buffer): { name: string; value: Buffer } | undefined {
  const line = raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
  const colon = line.indexOf(0x3a);
  if (colon <= 0) return undefined;
  const valueStart = line[colon + 1] === 0x20 ? colon + 2 : colon + 1;
  return { name: line.subarray(0, colon).toString('latin1'), value: line.subarray(valueStart) };
}
