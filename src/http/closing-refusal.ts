import type { FastifyInstance } from 'fastify';
import { HubError } from '../errors/index.js';
import { errorBody } from './error-handler.js';

/**
 * Seconds a refused client is asked to wait (`Retry-After`, RFC 9110 §10.2.3): about the time a
 * restarted instance needs to listen again; a load balancer with other instances retries at once.
 */
export const SHUTTING_DOWN_RETRY_AFTER_S = 5;

/**
 * From the moment the app starts closing, each new request is refused with 503
 * `HUB_ERR_SHUTTING_DOWN`, `Retry-After` and `Connection: close`: it ran nothing, so a load
 * balancer or client may safely send it again elsewhere, and the socket is not reused for a next
 * request that would be refused too. Requests already running are untouched; they drain.
 *
 * New connections are refused by the closed listener itself; what reaches this hook is a request
 * arriving on a connection already open (a kept-alive or pipelining client). Install it before
 * any other hook, so that authentication and rate limits do no work for a request being refused.
 */
export function installClosingRefusal(app: FastifyInstance): void {
  let closing = false;
  // Fastify's first preClose hook runs as soon as close begins, before the listener closes.
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    const error = new HubError('HUB_ERR_SHUTTING_DOWN');
    void reply
      .status(error.status)
      .header('retry-after', String(SHUTTING_DOWN_RETRY_AFTER_S))
      .header('connection', 'close')
      .type('application/json')
      .send(errorBody(error, request.routeOptions.config.errorKey ?? 'message'));
  });
}
