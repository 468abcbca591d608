import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { BodyMeter, BodyStage, StageOutput, StageStop } from '../net/body-stage.js';
import type { Logger } from '../observability/index.js';
import { requestIdOfEvent } from './related-requests.js';
import { resultTooLargeResponse } from './result-limit.js';
import { SseResultFilter } from './sse-result-filter.js';
import type { UnansweredRequest } from './unanswered-request.js';

/** Why a capped body was cut off (the cancel reason handed upstream). */
export class ResultTooLargeAbort extends Error {
  constructor(maxBytes: number) {
    super(`MCP server response is larger than the ${maxBytes}-byte limit`);
    this.name = 'ResultTooLargeAbort';
  }
}

/**
 * An event at most this large reaches the reader as one buffer (its lines joined: a small copy,
 * one chunk for the SDK's parser); a larger one as its lines, by reference, so a 1 MB result is
 * never copied to be joined.
 */
export const JOIN_EVENTS_UP_TO_BYTES = 16 * 1024;

const NEWLINE = Buffer.from('\n');

/** A POST's own event stream: the request it answers, and who hears when it is answered in its place. */
export interface OwedAnswer {
  request: UnansweredRequest;
  /** The transport's signal: once aborted, the stream's end is the transport's doing. */
  signal: AbortSignal | undefined;
  onCut: () => void;
}

/** A GET stream's watch: its break (and, when `endIsFault`, its end) means the upstream went away. */
export interface StreamFaultWatch {
  signal: AbortSignal | undefined;
  endIsFault: boolean;
  onFault: (error: Error) => void;
}

/** What one event stream's stage knows of its request. */
export interface SseStageOptions {
  maxBytes: number;
  logger: Logger;
  /** A POST's stream: the id of the request it answers (an oversized event is taken as its answer). */
  ownId?: () => RequestId | undefined;
  owed?: OwedAnswer;
  /** Hears each server→client request on a POST's stream (its id), before the reader gets it. */
  onRelated?: (serverRequestId: RequestId) => void;
  fault?: StreamFaultWatch;
  meter?: BodyMeter | undefined;
}

/**
 * A `text/event-stream` body, event by event ({@link SseResultFilter}): no message from the upstream
 * may pass `maxBytes`, counted as it streams and never held past the limit.
 * - On a POST's own stream, an oversized event ends the stream (cancelled upstream) with an error
 *   response ({@link resultTooLargeResponse}) for the request in its place.
 * - On any other stream (the legacy SSE session, the streamable GET stream), the oversized event
 *   is skipped and, when its ends tell which response it was, an error response takes its place;
 *   the stream, and so the session, goes on.
 * - A POST's stream that ends or breaks before the response to its request (and cannot be resumed:
 *   no event id) gets a connection-closed error in its place, then ends cleanly: the SDK would
 *   otherwise wait for its timeout. Only that call fails; `owed.onCut` then has the upstream checked.
 * - A GET stream that breaks (or, for legacy SSE, ends) without the transport's abort is a fault:
 *   the upstream went away, which the SDK's transports only report through `onerror`.
 * - Each server→client request on a POST's stream is reported with the POST's id (related-requests.ts).
 */
export class SseStage implements BodyStage {
  readonly meter: BodyMeter | undefined;
  private readonly filter: SseResultFilter;
  /** The output of the write or end in progress (the filter calls back synchronously). */
  private out: StageOutput | undefined;
  /** An oversized event answered the POST: nothing more is passed, and the upstream is cancelled. */
  private cut = false;
  /** The reader cancelled the body: its end is not the upstream's doing. */
  private readerCancelled = false;

  constructor(private readonly options: SseStageOptions) {
    this.meter = options.meter;
    this.filter = new SseResultFilter(options.maxBytes, {
      emit: (lines, complete) => this.emit(lines, complete),
      overflowed: () => {
        const id = this.cut ? undefined : options.ownId?.();
        if (id === undefined) return;
        this.fail(id);
        this.cut = true;
      },
      dropped: (id) => {
        if (this.cut) return;
        if (id === undefined) {
          options.logger.warn(
            { maxResultBytes: options.maxBytes },
            'dropped an oversized MCP message whose id is unknown',
          );
        } else this.fail(id);
      },
    });
  }

  write(chunk: Uint8Array, out: StageOutput): StageStop | undefined {
    this.out = out;
    this.filter.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    this.out = undefined;
    return this.cut ? { reason: new ResultTooLargeAbort(this.options.maxBytes), clean: true } : undefined;
  }

  end(out: StageOutput): void {
    const fault = this.options.fault;
    if (fault?.endIsFault === true && this.upstreamsDoing(fault.signal))
      fault.onFault(new Error('MCP server ended its event stream'));
    if (this.answerInstead(undefined, out)) return;
    this.out = out;
    this.filter.end();
    this.out = undefined;
  }

  broke(error: unknown, out: StageOutput): boolean {
    const fault = this.options.fault;
    if (fault !== undefined && this.upstreamsDoing(fault.signal))
      fault.onFault(new Error('MCP server event stream broke', { cause: error }));
    return this.answerInstead(error, out);
  }

  cancelled(): void {
    this.readerCancelled = true;
  }

  private upstreamsDoing(signal: AbortSignal | undefined): boolean {
    return signal?.aborted !== true && !this.readerCancelled;
  }

  /**
   * The upstream body ended (`error` undefined) or broke. A request still owed its answer gets the
   * error response in place of the unfinished event (which would join the event after it); true
   * when that happened.
   */
  private answerInstead(error: unknown, out: StageOutput): boolean {
    const owed = this.options.owed;
    if (owed === undefined || owed.signal?.aborted === true || !owed.request.owed) return false;
    this.options.logger.info(
      error === undefined ? {} : { err: error },
      'MCP server ended the event stream before answering its request; that call fails',
    );
    out.push(owed.request.answer());
    owed.onCut();
    return true;
  }

  private emit(lines: readonly Buffer[], complete: boolean): void {
    if (this.cut) return;
    const out = this.out;
    if (out === undefined) return;
    const { onRelated, owed } = this.options;
    if (onRelated !== undefined && complete) {
      const id = requestIdOfEvent(lines);
      if (id !== null) onRelated(id);
    }
    owed?.request.event(lines);
    pushEvent(lines, complete, out);
  }

  private fail(id: RequestId): void {
    const error = JSON.stringify(resultTooLargeResponse({ maxBytes: this.options.maxBytes, id }));
    this.out?.push(Buffer.from(`event: message\ndata: ${error}\n\n`));
  }
}

/** An event's lines, each with its `\n`, and the blank line that ends it when `complete`. */
function pushEvent(lines: readonly Buffer[], complete: boolean, out: StageOutput): void {
  let bytes = complete ? 1 : 0;
  for (const line of lines) bytes += line.length + 1;
  if (bytes > JOIN_EVENTS_UP_TO_BYTES) {
    for (const line of lines) {
      out.push(line);
      out.push(NEWLINE);
    }
    if (complete) out.push(NEWLINE);
    return;
  }
  const joined = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const line of lines) {
    at += line.copy(joined, at);
    joined[at++] = 0x0a;
  }
  if (complete) joined[at] = 0x0a;
  out.push(joined);
}

/**
 * A JSON answer to a POSTed request, held by reference (as the SDK would hold it to parse it) up to
 * the limit; past it, or when its declared length is past it, the upstream body is cancelled and an
 * error response for the request takes its place.
 */
export class JsonAnswerStage implements BodyStage {
  private held: Uint8Array[] = [];
  private received = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly declared: number | undefined,
    private readonly ownId: () => RequestId | undefined,
    readonly meter?: BodyMeter,
  ) {}

  start(out: StageOutput): StageStop | undefined {
    return this.declared !== undefined && this.declared > this.maxBytes ? this.tooLarge(out) : undefined;
  }

  write(chunk: Uint8Array, out: StageOutput): StageStop | undefined {
    this.received += chunk.byteLength;
    if (this.received > this.maxBytes) return this.tooLarge(out);
    this.held.push(chunk);
    return undefined;
  }

  end(out: StageOutput): void {
    const held = this.held;
    this.held = [];
    for (const chunk of held) out.push(chunk);
  }

  broke(): boolean {
    return false;
  }

  cancelled(): void {
    this.held = [];
  }

  private tooLarge(out: StageOutput): StageStop {
    this.held = [];
    const reason = new ResultTooLargeAbort(this.maxBytes);
    const id = this.ownId();
    if (id === undefined) return { reason, clean: false };
    out.push(Buffer.from(JSON.stringify(resultTooLargeResponse({ maxBytes: this.maxBytes, id }))));
    return { reason, clean: true };
  }
}

/** Any other body: passed on as it streams, and failing to read once past the limit. */
export class CappedBytesStage implements BodyStage {
  private received = 0;

  constructor(
    private readonly maxBytes: number,
    readonly meter?: BodyMeter,
  ) {}

  write(chunk: Uint8Array, out: StageOutput): StageStop | undefined {
    this.received += chunk.byteLength;
    if (this.received > this.maxBytes)
      return { reason: new ResultTooLargeAbort(this.maxBytes), clean: false };
    out.push(chunk);
    return undefined;
  }

  end(): void {}

  broke(): boolean {
    return false;
  }

  cancelled(): void {}
}
