import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { HubError, type HubErrorCode } from '../errors/index.js';
import { DEPENDENCY_RETRY_AFTER_S } from '../kv/errors.js';
import { isDatabaseUnavailable } from '../store/database.js';

/**
 * Which key carries the message in error bodies: LibreChat answers `{error}` on its OAuth, status,
 * reinitialize and auth-values routes and `{message}` on `/tools` and `/servers` (the LibreChat-compatible shapes in README.md).
 * A route picks its shape with `config: { errorKey: 'error' }`; `message` is the default.
 */
export type ErrorKey = 'error' | 'message';

declare module 'fastify' {
  interface FastifyContextConfig {
    errorKey?: ErrorKey;
  }
}

/** Fastify's own error codes that are the caller's fault, mapped to ours. */
const FASTIFY_CODES: Record<string, HubErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'HUB_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'HUB_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'HUB_ERR_BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'HUB_ERR_MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'HUB_ERR_MALFORMED_JSON',
  FST_ERR_CTP_MALFORMED_BODY: 'HUB_ERR_MALFORMED_JSON',
  FST_ERR_BAD_URL: 'HUB_ERR_BAD_REQUEST',
};

/** Turns any thrown value into a HubError; unknown errors become HUB_ERR_INTERNAL (logged, never echoed). */
export function toHubError(err: unknown): HubError {
  if (err instanceof HubError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = err.validation.map((issue) => ({
      path: `${err.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}`,
      message: issue.message ?? 'invalid',
    }));
    return new HubError('HUB_ERR_VALIDATION', { cause: err, details: { errors } });
  }
  if (isDatabaseUnavailable(err)) {
    return new HubError('HUB_ERR_DB_UNAVAILABLE', { cause: err, details: { dependency: 'database' } });
  }
  const fastifyError = err as Partial<FastifyError> | undefined;
  const mapped = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return new HubError(mapped, { cause: err });
  // The JSON parser's SyntaxError carries statusCode 400; its message echoes input, so it is not reused.
  if (err instanceof SyntaxError && fastifyError?.statusCode === 400) {
    return new HubError('HUB_ERR_MALFORMED_JSON', { cause: err });
  }
  if (fastifyError?.statusCode === 429) return new HubError('HUB_ERR_RATE_LIMITED', { cause: err });
  if (
    typeof fastifyError?.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  ) {
    return new HubError('HUB_ERR_BAD_REQUEST', { cause: err });
  }
  return new HubError('HUB_ERR_INTERNAL', { cause: err });
}

/** Codes for a dependency of the hub that is away: the answer says when to try again (RFC 9110 §10.2.3). */
const DEPENDENCY_CODES: ReadonlySet<HubErrorCode> = new Set([
  'HUB_ERR_DB_UNAVAILABLE',
  'HUB_ERR_KV_UNAVAILABLE',
]);

/** The `Retry-After` value (seconds) for an error, when it has one. */
export function retryAfterFor(error: HubError): string | undefined {
  return DEPENDENCY_CODES.has(error.code) ? String(DEPENDENCY_RETRY_AFTER_S) : undefined;
}

/**
 * Failures of something outside the hub (an MCP server, its authorization server, the database,
 * Redis): expected in operation, so they are logged at warn with their cause's message and no
 * stack trace. Every other 5xx is a fault of the hub and keeps its stack at error.
 */
function isOutsideFailure(error: HubError): boolean {
  return error.status >= 502 && error.status <= 504;
}

/** The cause of an outside failure, as one short line: its type, code and message. */
function causeSummary(cause: unknown): Record<string, unknown> | undefined {
  if (!(cause instanceof Error)) return undefined;
  const code = (cause as { code?: unknown }).code;
  return {
    type: cause.name,
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    message: cause.message,
  };
}

/**
 * Logs a request that failed or was refused, at the level it deserves: a refusal (4xx) at info,
 * an outside failure (502-504) at warn without a stack, any other 5xx at error with its stack.
 */
export function logFailure(log: FastifyBaseLogger, error: HubError, message: string): void {
  if (isOutsideFailure(error)) {
    const cause = causeSummary(error.cause);
    log.warn({ errorCode: error.code, status: error.status, ...(cause ? { cause } : {}) }, message);
  } else if (error.status >= 500) {
    log.error({ err: error.cause ?? error, errorCode: error.code }, message);
  } else {
    log.info({ errorCode: error.code, status: error.status }, message);
  }
}

/** The JSON body for an error, in the route's shape. */
export function errorBody(error: HubError, key: ErrorKey): Record<string, unknown> {
  return { ...(error.details ?? {}), [key]: error.message, code: error.code };
}

/** Installs the error and not-found handlers: every failure is JSON with a stable code. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const error = toHubError(err);
    logFailure(request.log, error, error.status >= 500 ? 'request failed' : 'request rejected');
    if (error.code === 'HUB_ERR_RATE_LIMITED') {
      const retryAfter = (err as { headers?: Record<string, string> }).headers?.['retry-after'];
      if (retryAfter) void reply.header('retry-after', retryAfter);
    }
    const retryAfter = retryAfterFor(error);
    if (retryAfter !== undefined) void reply.header('retry-after', retryAfter);
    const key = request.routeOptions.config.errorKey ?? 'message';
    return reply.status(error.status).type('application/json').send(errorBody(error, key));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new HubError('HUB_ERR_ROUTE_NOT_FOUND');
    return reply.status(404).send(errorBody(error, 'message'));
  });
}
