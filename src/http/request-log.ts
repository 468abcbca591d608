import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

/**
 * One log line per request instead of Fastify's two: no "incoming request", and the completion
 * line names the request (method, path, id). Logging is a visible share of the hub's own cost per
 * tool call. Errors, 404s and stream failures are logged as Fastify always does.
 */
export class OneLineRequestLog extends LogController {
  override incomingRequest(): void {
    // the completion line says it all
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** pino's numbers for its default levels. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * A request's logger, made only when the request logs something its level lets through. Fastify
 * gives every request a child of the hub's logger; with redaction configured, pino serializes and
 * redacts the child's bindings as it makes it, which on a tool call (whose route logs only warnings)
 * cost more than all the request's logging. The child is made with the same bindings and options on
 * first use, so what is logged, and how it is redacted, is unchanged.
 */
export class LazyRequestLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.real().level = level;
  }

  readonly trace = (...args: unknown[]): void => this.log('trace', args);
  readonly debug = (...args: unknown[]): void => this.log('debug', args);
  readonly info = (...args: unknown[]): void => this.log('info', args);
  readonly warn = (...args: unknown[]): void => this.log('warn', args);
  readonly error = (...args: unknown[]): void => this.log('error', args);
  readonly fatal = (...args: unknown[]): void => this.log('fatal', args);
  readonly silent = (): void => undefined;

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options);
  }

  private log(level: Level, args: unknown[]): void {
    const threshold = LEVEL_VALUES[this.level];
    // 'silent' and unknown levels let nothing through.
    if (threshold === undefined || (LEVEL_VALUES[level] ?? 0) < threshold) return;
    const real = this.real();
    Reflect.apply(real[level], real, args);
  }

  private real(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }
}

/** Fastify's `childLoggerFactory`: a {@link LazyRequestLogger} per request. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options);
}
