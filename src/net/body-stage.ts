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

/**
 * The body stream: each pull reads the source until the stage (or, without one, the chunk itself)
 * gives the reader something, counting bytes against `limits` on the way. Chunks pass by reference;
 * nothing here copies them.
 */
export function stagedStream(
  source: ChunkSource,
  stage: BodyStage | undefined,
  limits: BodyLimits = NO_LIMITS,
): ReadableStream<Uint8Array> {
  let received = 0;
  let started = false;
  let settled = false;
  const settle = (): void => {
    if (settled) return;
    settled = true;
    limits.onSettled?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let pushed = false;
        const meter = stage?.meter;
        const out: StageOutput = {
          push(bytes) {
            if (bytes.byteLength === 0) return;
            meter?.pushed(bytes);
            controller.enqueue(bytes);
            pushed = true;
          },
        };
        const stopped = async (stop: StageStop): Promise<void> => {
          await source.cancel(stop.reason).catch(() => undefined);
          settle();
          if (stop.clean) controller.close();
          else controller.error(stop.reason);
        };
        if (!started) {
          started = true;
          const stop = stage?.start?.(out);
          if (stop !== undefined) return stopped(stop);
        }
        while (!pushed) {
          let chunk: ChunkRead;
          try {
            chunk = await source.read();
          } catch (error) {
            settle();
            if (stage?.broke(error, out) === true) controller.close();
            else controller.error(error);
            return;
          }
          if (chunk.done) {
            settle();
            stage?.end(out);
            controller.close();
            return;
          }
          meter?.read(chunk.value);
          received += chunk.value.byteLength;
          if (received > limits.maxBytes) {
            const reason = limits.tooLarge();
            limits.abort?.(reason);
            await source.cancel(reason).catch(() => undefined);
            settle();
            controller.error(reason);
            return;
          }
          if (stage === undefined) {
            out.push(chunk.value);
            continue;
          }
          const stop = stage.write(chunk.value, out);
          if (stop !== undefined) return stopped(stop);
        }
      },
      async cancel(reason) {
        settle();
        stage?.cancelled();
        await source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
