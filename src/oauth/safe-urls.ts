import { fail, HubError, ok, type Result } from '../errors/index.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackHost(hostname: string): boolean {
  // 127.0.0.0/8 as the WHATWG parser normalises it (it already turned 0x7f.1 into 127.0.0.1).
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Checks a URL taken from OAuth metadata before the hub sends anything to it or shows it to a
 * browser: http(s) only (SS-11: no javascript:, data:, file:, vbscript:), plain http only on a
 * loopback host (SS-10: a token endpoint over cleartext would expose codes and secrets), no userinfo
 * (SS-17), no fragment (RFC 8414 §2 for endpoints; RFC 8707 §2 for resources).
 * Private addresses are the egress guard's business at request time.
 */
export function checkOAuthUrl(value: unknown, field: string): Result<URL> {
  const invalid = (why: string): Result<URL> => fail('HUB_ERR_OAUTH_METADATA_INVALID', `${field} ${why}`);
  if (typeof value !== 'string' || value === '') return invalid('is missing');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return invalid('must use https');
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return invalid('must use https');
  if (url.username !== '' || url.password !== '') return invalid('must not carry credentials');
  if (url.hash !== '' || value.includes('#')) return invalid('must not have a fragment');
  return ok(url);
}

/**
 * RFC 8414 §3.3 / OIDC Discovery §4.3: the metadata's `issuer` must be the URL it was fetched for.
 * A single trailing `/` is tolerated, since `new URL('https://as.example')` adds one that the AS's
 * own value usually lacks.
 */
export function sameIssuer(a: string, b: string): boolean {
  if (a === b) return true;
  const trim = (s: string): string => (s.endsWith('/') ? s.slice(0, -1) : s);
  return trim(a) === trim(b);
}

/** True when both parse as URLs with one origin (how configured endpoints are matched to `iss`). */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** Throws a failed {@link Result} as a HubError (services throw, validators return). */
export function must<T>(result: Result<T>): T {
  if (!result.ok) throw new HubError(result.code, { message: result.message });
  return result.value;
}
