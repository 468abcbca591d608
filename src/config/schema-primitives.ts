import { z } from 'zod';

/**
 * Node's timers hold at most 2^31-1 ms; a larger delay silently fires after 1 ms, so a generous timeout
 * would turn into an instant one. Refuse it here instead.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration in milliseconds: a whole number from 0 up to what a Node timer can hold. */
export function milliseconds(): z.ZodNumber {
  return z.number().int().min(0).max(MAX_TIMER_MS);
}

/** True when `value` parses as a URL whose scheme is one of `schemes` (each with its colon, e.g. `https:`). */
export function hasScheme(value: string, schemes: readonly string[]): boolean {
  if (!URL.canParse(value)) return false;
  return schemes.includes(new URL(value).protocol);
}

/** An absolute http(s) URL: upstream servers and OAuth endpoints are never reached by other schemes. */
export function httpUrl(): z.ZodString {
  return z.string().refine((value) => hasScheme(value, ['http:', 'https:']), {
    message: 'must be an http:// or https:// URL',
  });
}

/** An absolute ws(s) URL, for LibreChat's websocket transport. */
export function wsUrl(): z.ZodString {
  return z.string().refine((value) => hasScheme(value, ['ws:', 'wss:']), {
    message: 'must be a ws:// or wss:// URL',
  });
}

/** A string with at least one character. */
export function nonEmpty(): z.ZodString {
  return z.string().min(1);
}

/** RFC 9110 §5.1: a field name is a token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * HTTP headers sent upstream. Names must be tokens and values must not hold CR, LF or NUL, which would
 * otherwise fail at request time, far from the config line that caused it.
 */
export function headerRecord(): z.ZodRecord<z.ZodString, z.ZodString> {
  return z.record(
    z.string().regex(HEADER_NAME, { message: 'is not a valid HTTP header name' }),
    z.string().refine((value) => !/[\r\n\0]/.test(value), {
      message: 'must not contain line breaks or NUL characters',
    }),
  );
}

/** A child process environment: names without `=` or NUL (the OS cannot represent them), values without NUL. */
export function envRecord(): z.ZodRecord<z.ZodString, z.ZodString> {
  return z.record(
    z.string().regex(/^[^=\0]+$/, { message: 'is not a valid environment variable name' }),
    z.string().refine((value) => !value.includes('\0'), { message: 'must not contain NUL characters' }),
  );
}
