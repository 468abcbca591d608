import { type Result, fail, ok } from '../errors/index.js';

/** Where one outbound connection goes, as the allowlist judges it. */
export interface EgressTarget {
  protocol: 'http:' | 'https:';
  /** Lower-case host name or IP literal, without IPv6 brackets. */
  hostname: string;
  /** The port the socket uses: the URL's, or 80/443. */
  port: number;
}

/**
 * What to do with a `#fragment`: stored URLs (server URLs, OAuth endpoints) refuse it, since a
 * fragment is invalid in a resource identifier or endpoint (RFC 9728 §1.2, RFC 8414 §2) and
 * SS-17 asks for a refusal; a request strips it, as fetch never sends one
 * (a redirect's `Location` may legitimately carry one, RFC 9110 §10.2.2).
 */
export type FragmentRule = 'refuse' | 'strip';

/**
 * The URL-level rules, checked before any DNS or socket: it parses (WHATWG, so `http://2130706433/`
 * and `0x7f.1` arrive normalised to `127.0.0.1`), the scheme is `http:` or `https:` (never
 * `javascript:`, `file:`, `data:`, `ftp:`…), and there are no credentials in it, which would leak
 * through logs (SS-17).
 */
export function checkUrlShape(input: string | URL, fragments: FragmentRule): Result<URL> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: only http and https URLs are');
  }
  if (url.username !== '' || url.password !== '') {
    return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: URLs may not carry credentials');
  }
  // `url.hash` is '' for a bare trailing '#', which the serialised URL still carries.
  if (url.href.includes('#')) {
    if (fragments === 'refuse') {
      return fail('HUB_ERR_EGRESS_DENIED', 'Destination not allowed: URLs may not carry a fragment');
    }
    // The WHATWG setter: an empty hash removes the fragment, '#' included.
    url.hash = '';
  }
  return ok(url);
}

/**
 * The target of a connection, from a URL's or undici's connect options' parts. Undefined for any
 * scheme but http(s), or a port that is not a number.
 */
export function targetOf(protocol: string, hostname: string, port: string): EgressTarget | undefined {
  if (protocol !== 'http:' && protocol !== 'https:') return undefined;
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  const defaultPort = protocol === 'https:' ? 443 : 80;
  const portNumber = port === '' ? defaultPort : Number(port);
  if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) return undefined;
  return { protocol, hostname: bare.toLowerCase(), port: portNumber };
}

/** The target a parsed http(s) URL connects to. */
export function targetOfUrl(url: URL): EgressTarget | undefined {
  return targetOf(url.protocol, url.hostname, url.port);
}
