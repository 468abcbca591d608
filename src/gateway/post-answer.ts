import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { bodyLength, jsonBody } from '../core/index.js';
import { EventStream, type HttpReply } from './http-reply.js';

/** How the answer to one POST is timed. */
export interface AnswerTiming {
  /**
   * How long a POST's answer may stay silent before it becomes an SSE stream with its headers sent
   * alone: a long call then tells its client promptly that the request was taken.
   */
  quietMs: number;
  /** The keep-alive period of an SSE stream. */
  keepAliveMs: number;
}

/**
 * The answer to one POST that carried requests (MCP streamable HTTP, "Sending Messages to the
 * Server"). The spec lets the server answer either with one JSON body or with an SSE stream, and
 * requires clients to accept both. This answer waits: when the responses come before anything
 * else, it is plain JSON, written once with its length (no stream, no framing); when a message
 * related to the requests comes first (progress, a log line, a server→client request), or the
 * call stays quiet for {@link AnswerTiming.quietMs}, it becomes an SSE stream that carries those
 * messages and then the responses, and ends after the last one.
 */
export class PostAnswer {
  /** The POST's requests by id, with their responses as they come. */
  private readonly responses = new Map<RequestId, JSONRPCMessage | undefined>();
  private stream: EventStream | undefined;
  private quiet: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly reply: HttpReply,
    requestIds: readonly RequestId[],
    private readonly sessionId: string | undefined,
    private readonly timing: AnswerTiming,
  ) {
    for (const id of requestIds) this.responses.set(id, undefined);
    this.quiet = setTimeout(() => this.toStream(true), timing.quietMs);
    this.quiet.unref();
  }

  /** The ids of the POST's requests. */
  ids(): IterableIterator<RequestId> {
    return this.responses.keys();
  }

  /** False once answered in full, or once the client has gone. */
  get open(): boolean {
    return !this.finished && this.reply.open;
  }

  /** A message related to one of the requests, sent before its response. */
  related(message: JSONRPCMessage): void {
    if (!this.open) return;
    this.toStream(false).send(message);
  }

  /** The response to request `id`; true once every request of the POST has its response and the answer ended. */
  respond(id: RequestId, message: JSONRPCMessage): boolean {
    this.responses.set(id, message);
    if (this.stream !== undefined) this.stream.send(message);
    for (const response of this.responses.values()) if (response === undefined) return false;
    this.finish();
    return true;
  }

  /** Ends the answer as it stands (the session closed): an SSE stream ends, a waiting answer ends empty. */
  close(): void {
    if (this.finished) return;
    this.toStream(false).end();
    this.done();
  }

  /** The client went away: nothing more is written. */
  gone(): void {
    this.stream?.stop();
    this.done();
  }

  private finish(): void {
    if (this.stream !== undefined) this.stream.end();
    else if (this.reply.open) {
      const all = [...this.responses.values()];
      const body = jsonBody(all.length === 1 ? all[0] : all);
      this.reply.head(200, {
        'content-type': 'application/json',
        'content-length': String(bodyLength(body)),
        ...(this.sessionId === undefined ? {} : { 'mcp-session-id': this.sessionId }),
      });
      this.reply.end(body);
    }
    this.done();
  }

  /** The answer as an SSE stream from here on, with the responses already in sent first. */
  private toStream(flush: boolean): EventStream {
    clearTimeout(this.quiet);
    if (this.stream !== undefined) return this.stream;
    const stream = new EventStream(this.reply, this.sessionId, this.timing.keepAliveMs);
    this.stream = stream;
    stream.start(flush);
    for (const response of this.responses.values()) if (response !== undefined) stream.send(response);
    return stream;
  }

  private done(): void {
    this.finished = true;
    clearTimeout(this.quiet);
  }
}
