import { errorTable, type HubErrorCode } from './codes.js';

/** Options for a {@link HubError}. */
export interface HubErrorOptions {
  /** A safe, caller-facing message overriding the table's default. Never include secrets. */
  message?: string;
  /** The underlying error, kept for logs; never serialised to callers. */
  cause?: unknown;
  /** Extra safe fields merged into the response body (e.g. `errors` for validation). */
  details?: Record<string, unknown>;
}

/** The hub's one error type: a stable code, an HTTP status, and a safe message. */
export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: HubErrorCode, options: HubErrorOptions = {}) {
    super(options.message ?? errorTable[code].message, { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.status = errorTable[code].status;
    this.details = options.details;
  }
}

/** True when `value` is a {@link HubError}, optionally with the given code. */
export function isHubError(value: unknown, code?: HubErrorCode): value is HubError {
  return value instanceof HubError && (code === undefined || value.code === code);
}
