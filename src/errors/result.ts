import type { HubErrorCode } from './codes.js';

/** What validators return (validators return results, services throw): a value, or a code with a safe message. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: HubErrorCode; message: string };

/** A successful {@link Result}. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** A failed {@link Result}. */
export function fail<T = never>(code: HubErrorCode, message: string): Result<T> {
  return { ok: false, code, message };
}
