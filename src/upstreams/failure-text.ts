import { isHubError } from '../errors/index.js';

/** A system error code such as ECONNREFUSED or ENOENT: a fixed word, never input. */
const ERRNO_CODE = /^E[A-Z0-9_]{2,30}$/;

/**
 * A connect failure as an admin may read it: the hub's own message (written to be shown, never
 * carrying a URL, header or token), the upstream's HTTP status when there was one, and the system
 * error code from the cause chain (ECONNREFUSED, ENOENT…). The upstream's own words and the
 * cause's message are left out: they may echo a URL with credentials or a token.
 */
export function failureText(error: unknown): string {
  if (!isHubError(error)) return 'MCP server could not be connected';
  const status = error.details?.upstreamStatus;
  const parts = [error.message];
  if (typeof status === 'number' && Number.isInteger(status)) parts.push(`HTTP ${status}`);
  const code = errnoCode(error.cause);
  if (code !== undefined) parts.push(code);
  return parts.length === 1 ? error.message : `${error.message} (${parts.slice(1).join(', ')})`;
}

/** The first errno-style `code` down the cause chain (and inside an AggregateError). */
function errnoCode(error: unknown, depth = 0): string | undefined {
  if (depth > 6 || typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && ERRNO_CODE.test(code)) return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = errnoCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return errnoCode((error as { cause?: unknown }).cause, depth + 1);
}
