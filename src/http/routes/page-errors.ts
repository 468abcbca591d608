import type { FastifyInstance } from 'fastify';
import { toHubError } from '../error-handler.js';
import { escapeHtml, page } from './oauth-pages.js';

/**
 * Makes every error in this (encapsulated) scope a page rather than JSON: a person in a browser
 * reads these answers. The message is the error table's safe text; a rate limit keeps Retry-After.
 */
export function installPageErrors(app: FastifyInstance, title: string): void {
  app.setErrorHandler((err: unknown, request, reply) => {
    const error = toHubError(err);
    if (error.status >= 500) {
      request.log.error({ err: error.cause ?? error, errorCode: error.code }, 'request failed');
    } else {
      request.log.info({ errorCode: error.code, status: error.status }, 'request rejected');
    }
    if (error.code === 'HUB_ERR_RATE_LIMITED') {
      const retryAfter = (err as { headers?: Record<string, string> }).headers?.['retry-after'];
      if (retryAfter) void reply.header('retry-after', retryAfter);
      return page(reply.status(429), 'Too many attempts', '<p>Wait a minute, then try again.</p>');
    }
    return page(reply.status(error.status), title, `<p>${escapeHtml(error.message)}</p>`);
  });
}
