/**
 * A per-request stage run inside the one stream that carries a response body, so a caller that
 * needs to look at (or cap, or rewrite) an upstream body adds no stream, no `Response` and no
 * header copy of its own: the guarded fetch builds its body stream with the stage in it.
 */

/** Where a stage puts the bytes the body's reader gets, in order. */
export interface StageOutput {
  push(bytes: Uint8Array): void;
}

/** Ends the upstream body early: cancelled with `reason`, then the body closes (`clean`) or fails with it. */
export interface StageStop {
  reason: Error;
  clean: boolean;
}

/**
 * Sees every chunk read from upstream and every buffer the reader is given: a test's seam to count
 * what a stage holds and copies (a pushed buffer on no chunk's memory was copied).
 */
export interface BodyMeter {
  read(chunk: Uint8Array): void;
  pushed(bytes: Uint8Array): void;
}

/** What a stage does with the body's events; every method runs synchronously inside the body's pull. */
export interface BodyStage {
  readonly meter?: BodyMeter | undefined;
  /** Before the first read: a {@link StageStop} ends the body unread (a length declared too large, say). */
  start?(out: StageOutput): StageStop | undefined;
  /** A chunk from upstream. A {@link StageStop} cancels the upstream body after what was pushed. */
  write(chunk: Uint8Array, out: StageOutput): StageStop | undefined;
  /** The upstream body ended. */
  end(out: StageOutput): void;
  /** The upstream body broke: true when the stage answered in its place (the body then closes cleanly). */
  broke(error: unknown, out: StageOutput): boolean;
  /** The body's reader cancelled it (the upstream body is cancelled too). */
  cancelled(): void;
}

/** What a stage factory sees of a response before its body: status and header lookup. */
export interface ResponseHead {
  readonly status: number;
  /** A header's value (names are lower-case), or null. */
  header(name: string): string | null;
}

/** Picks the stage for one response (or none). Called once per response the request got. */
export type BodyStageFactory = (head: ResponseHead) => BodyStage | undefined;

/** The `RequestInit` key a caller puts its stage factory under; wrappers that spread `init` keep it. */
export const BODY_STAGE: unique symbol = Symbol('switchboard.bodyStage');

/** A `RequestInit` that may carry a {@link BodyStageFactory}. */
export interface StagedRequestInit extends RequestInit {
  [BODY_STAGE]?: BodyStageFactory;
}

/** The stage factory a request carries, if any. */
export function bodyStageOf(init: RequestInit | undefined): BodyStageFactory | undefined {
  return (init as StagedRequestInit | undefined)?.[BODY_STAGE];
}

const staged = new WeakSet<Response>();

/** Marks a response whose body already runs the request's stage (the fetch consulted the factory). */
export function markStaged(response: Response): Response {
  staged.add(response);
  return response;
}

/** True when `response` came from a fetch that ran its request's stage. */
export function wasStaged(response: Response): boolean {
  return staged.has(response);
}

/** One read of a {@link ChunkSource}, as a web stream reader's. */
export type ChunkRead = { done: true; value?: undefined } | { done: false; value: Uint8Array };

/** Where a staged stream reads from: a web stream's reader, or an adapter over Node's body. */
export interface ChunkSource {
  read(): Promise<ChunkRead>;
  cancel(reason?: unknown): Promise<void>;
}

/** The size cap and settlement hooks of the fetch that owns the body. */
export interface BodyLimits {
  /** Largest body passed on, in bytes; `Infinity` for none. */
  maxBytes: number;
  /** The error a body past `maxBytes` fails with. */
  tooLarge: () => Error;
  /** Ends the upstream request (its socket included) with this reason. */
  abort?: (reason: Error) => void;
  /** Called once when the body has ended, failed or been cancelled. */
  onSettled?: () => void;
}

const NO_LIMITS: BodyLimits = { maxBytes: Infinity, tooLarge: () => new Error('unreachable') };

/** How a {@link StagedBody} ended: closed (what was queued is still read) or failed. */
type BodyEnd = { closed: true } | { closed: false; error: unknown };

/**
 * A response body as chunks, read straight from its source: each read pulls the source until the
 * stage (or, without one, the chunk itself) gives the reader something, counting bytes against
 * `limits` on the way. Chunks pass by reference; nothing here copies them. {@link stagedStream}
 * makes it a web stream; a reader that asked for a direct body ({@link DIRECT_BODY}) reads it as
 * it is, which spares the stream (in Node 20 a `ReadableStream` costs tens of microseconds to make).
 */
export class StagedBody implements ChunkSource {
  private readonly queue: Uint8Array[] = [];
  private received = 0;
  private started = false;
  private settled = false;
  private ended: BodyEnd | undefined;
  private readonly out: StageOutput;

  constructor(
    private readonly source: ChunkSource,
    private readonly stage: BodyStage | undefined,
    private readonly limits: BodyLimits = NO_LIMITS,
  ) {
    const meter = stage?.meter;
    const queue = this.queue;
    this.out = {
      push(bytes) {
        if (bytes.byteLength === 0) return;
        meter?.pushed(bytes);
        queue.push(bytes);
      },
    };
  }

  async read(): Promise<ChunkRead> {
    while (this.queue.length === 0 && this.ended === undefined) await this.pull();
    const next = this.queue.shift();
    if (next !== undefined) return { done: false, value: next };
    const ended = this.ended;
    if (ended === undefined || ended.closed) return { done: true, value: undefined };
    throw ended.error;
  }

  /** The reader gives up: the stage hears of it and the source is cancelled (nothing once ended). */
  async cancel(reason?: unknown): Promise<void> {
    this.queue.length = 0;
    if (this.ended !== undefined) return;
    this.ended = { closed: true };
    this.settle();
    this.stage?.cancelled();
    await this.source.cancel(reason);
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    this.limits.onSettled?.();
  }

  private close(): void {
    this.ended = { closed: true };
  }

  /** Fails the body: what was queued is dropped, as a web stream drops it on error. */
  private fail(error: unknown): void {
    this.queue.length = 0;
    this.ended = { closed: false, error };
  }

  private async stopped(stop: StageStop): Promise<void> {
    await this.source.cancel(stop.reason).catch(() => undefined);
    this.settle();
    if (stop.clean) this.close();
    else this.fail(stop.reason);
  }

  /** Reads the source until something is queued for the reader, or the body ended. */
  private async pull(): Promise<void> {
    const { stage, limits, out } = this;
    if (!this.started) {
      this.started = true;
      const stop = stage?.start?.(out);
      if (stop !== undefined) return this.stopped(stop);
    }
    while (this.queue.length === 0) {
      let chunk: ChunkRead;
      try {
        chunk = await this.source.read();
      } catch (error) {
        this.settle();
        if (stage?.broke(error, out) === true) this.close();
        else this.fail(error);
        return;
      }
      if (this.ended !== undefined) return; // cancelled while reading
      if (chunk.done) {
        this.settle();
        stage?.end(out);
        this.close();
        return;
      }
      stage?.meter?.read(chunk.value);
      this.received += chunk.value.byteLength;
      if (this.received > limits.maxBytes) {
        const reason = limits.tooLarge();
        limits.abort?.(reason);
        await this.source.cancel(reason).catch(() => undefined);
        this.settle();
        this.fail(reason);
        return;
      }
      if (stage === undefined) {
        out.push(chunk.value);
        continue;
      }
      const stop = stage.write(chunk.value, out);
      if (stop !== undefined) return this.stopped(stop);
    }
  }
}

/** A {@link StagedBody} over `source` as a web stream, read chunk by chunk as its reader pulls. */
export function stagedStream(
  source: ChunkSource,
  stage: BodyStage | undefined,
  limits: BodyLimits = NO_LIMITS,
): ReadableStream<Uint8Array> {
  return webStreamOf(new StagedBody(source, stage, limits));
}

/** `body` as a web stream. */
export function webStreamOf(body: StagedBody): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const read = await body.read();
          if (read.done) controller.close();
          else controller.enqueue(read.value);
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: (reason) => body.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/**
 * The `RequestInit` key with which a reader asks for a successful (2xx) response's body directly
 * (read with {@link bodyOf}), not as a web stream: the response's `body` is then null. Only for a
 * reader that reads every such body through {@link bodyOf}; a fetch that does not know the key
 * answers as usual, and {@link bodyOf} reads its stream.
 */
export const DIRECT_BODY: unique symbol = Symbol('switchboard.directBody');

/** A `RequestInit` that may ask for a direct body. */
export interface DirectBodyInit extends RequestInit {
  [DIRECT_BODY]?: boolean;
}

/** True when the request asked for a direct body. */
export function wantsDirectBody(init: RequestInit | undefined): boolean {
  return (init as DirectBodyInit | undefined)?.[DIRECT_BODY] === true;
}

const directBodies = new WeakMap<Response, StagedBody>();

/** `response` (built with a null body) carries `body`, read through {@link bodyOf}. */
export function withDirectBody(response: Response, body: StagedBody): Response {
  directBodies.set(response, body);
  return response;
}

/**
 * A response's body to read (one read at a time) or cancel: its direct body, or a reader of its
 * stream (locking it, so taken once); null when it has none.
 */
export function bodyOf(response: Response): ChunkSource | null {
  const direct = directBodies.get(response);
  if (direct !== undefined) return direct;
  return response.body === null ? null : response.body.getReader();
}

/** Cancels a response's body (direct or streamed), whatever it holds. */
export async function cancelBody(response: Response): Promise<void> {
  await bodyOf(response)?.cancel();
}
