import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

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
