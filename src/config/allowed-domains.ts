import ipaddr from 'ipaddr.js';
import { type Result, fail, ok } from '../errors/index.js';

/**
 * One parsed `mcpSettings.allowedDomains` entry, for the egress guard to match against. Hosts are
 * lower-cased; `port` and `scheme` are present only when the entry named them.
 */
export type AllowedDomainRule =
  | { kind: 'host'; host: string; port?: number; scheme?: 'http' | 'https' }
  /** `*.example.com`: `suffix` is `example.com`; whether the bare suffix also matches is the guard's rule. */
  | { kind: 'wildcard'; suffix: string; port?: number; scheme?: 'http' | 'https' }
  | { kind: 'ip'; address: string; port?: number; scheme?: 'http' | 'https' }
  | { kind: 'cidr'; network: string; prefixLength: number };

/** One parsed `mcpSettings.allowedAddresses` entry: an exact private host (or IP) and port. */
export interface AllowedAddress {
  host: string;
  port: number;
}

const SHAPES =
  "use a host, '*.domain', 'host:port', an IP, a CIDR such as '10.0.0.0/8', or 'https://host[:port]'";

/**
 * A DNS name. Underscores are allowed because Docker Compose service names (`mcp_server`) resolve
 * inside their network even though public DNS forbids them.
 */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function isHostname(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

type Authority =
  | { kind: 'host'; host: string; port?: number }
  | { kind: 'wildcard'; suffix: string; port?: number }
  | { kind: 'ip'; address: string; port?: number };

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address, and says what the host is. */
function parseAuthority(text: string): Authority | string {
  let hostText = text;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed !== null) {
    hostText = bracketed[1] ?? '';
    portText = bracketed[2];
    if (!ipaddr.IPv6.isValid(hostText)) return `'[${hostText}]' is not an IPv6 address`;
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [hostText = '', portText] = text.split(':');
  }

  let port: number | undefined;
  if (portText !== undefined) {
    port = parsePort(portText);
    if (port === undefined) return `'${portText}' is not a port (1-65535)`;
  }
  const withPort = port === undefined ? {} : { port };

  if (ipaddr.IPv6.isValid(hostText))
    return { kind: 'ip', address: ipaddr.IPv6.parse(hostText).toString(), ...withPort };
  // Four decimal parts only: ipaddr.js would also read `0x7f.1` as an address, which nobody means here.
  if (ipaddr.IPv4.isValidFourPartDecimal(hostText)) return { kind: 'ip', address: hostText, ...withPort };
  // WHATWG URL parsing reads a host whose last label is a number (`10.1`, `0x7f.0.0.1`) as IPv4, so such
  // an entry could never match as a name; it is a malformed address.
  const lastLabel = hostText.split('.').pop() ?? '';
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(lastLabel)) return `'${hostText}' is not a valid IPv4 address`;
  if (hostText.startsWith('*.')) {
    const suffix = hostText.slice(2);
    if (!isHostname(suffix)) return `'${hostText}' is not a valid wildcard domain`;
    return { kind: 'wildcard', suffix, ...withPort };
  }
  if (!isHostname(hostText)) return `'${hostText}' is not a valid host name`;
  return { kind: 'host', host: hostText, ...withPort };
}

/**
 * Parses one `allowedDomains` entry: a host, `*.domain`, `host:port`, an IP, a CIDR, or
 * LibreChat's `http(s)://host[:port]` form. Anything else (paths, queries, credentials, stray spaces) is
 * refused rather than guessed at, since a misread entry would widen what the egress guard lets through.
 */
export function parseAllowedDomain(entry: string): Result<AllowedDomainRule> {
  const text = entry.toLowerCase();
  if (text === '' || /\s/.test(text))
    return fail('HUB_ERR_CONFIG_INVALID', `must be non-empty with no spaces; ${SHAPES}`);

  if (text.includes('/') && !text.includes('://')) {
    const [network = ''] = text.split('/');
    const isCidr =
      ipaddr.IPv4.isValidCIDRFourPartDecimal(text) ||
      (ipaddr.IPv6.isValid(network) && ipaddr.IPv6.isValidCIDR(text));
    if (!isCidr) return fail('HUB_ERR_CONFIG_INVALID', `'${entry}' is not a valid CIDR range; ${SHAPES}`);
    const [address, prefixLength] = ipaddr.parseCIDR(text);
    return ok({ kind: 'cidr', network: address.toString(), prefixLength });
  }

  let scheme: 'http' | 'https' | undefined;
  let authority = text;
  if (text.includes('://')) {
    const match = /^(https?):\/\/([^/?#@]+)\/?$/.exec(text);
    if (match === null) {
      return fail(
        'HUB_ERR_CONFIG_INVALID',
        `'${entry}' must be http(s)://host[:port] with no path, query or credentials`,
      );
    }
    scheme = match[1] === 'https' ? 'https' : 'http';
    authority = match[2] ?? '';
  }

  const parsed = parseAuthority(authority);
  if (typeof parsed === 'string') return fail('HUB_ERR_CONFIG_INVALID', `${parsed}; ${SHAPES}`);
  return ok(scheme === undefined ? parsed : { ...parsed, scheme });
}

/** Address ranges an `allowedAddresses` entry may name: LibreChat scopes that list to private space. */
const NON_PUBLIC_RANGES: ReadonlySet<string> = new Set([
  'private',
  'loopback',
  'linkLocal',
  'uniqueLocal',
  'carrierGradeNat',
  'unspecified',
]);

/** The ipaddr.js range name of an address, looking through IPv4-mapped IPv6 (`::ffff:10.0.0.1`). */
function rangeOf(text: string): string {
  const address = ipaddr.parse(text);
  if (address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress()) return address.toIPv4Address().range();
  return address.range();
}

/**
 * Parses one `allowedAddresses` entry (LibreChat's SSRF exemption list): `host:port` or `[v6]:port`,
 * where an IP literal must be private. A public IP is refused because exempting it from the guard
 * would serve no purpose but to hide a mistake.
 */
export function parseAllowedAddress(entry: string): Result<AllowedAddress> {
  const parsed = parseAuthority(entry.toLowerCase());
  if (typeof parsed === 'string')
    return fail('HUB_ERR_CONFIG_INVALID', `${parsed}; use 'host:port' or '[::1]:port'`);
  if (parsed.kind === 'wildcard' || parsed.port === undefined) {
    return fail(
      'HUB_ERR_CONFIG_INVALID',
      `'${entry}' must be one host and a port, e.g. 'localhost:11434' or '[::1]:11434'`,
    );
  }
  if (parsed.kind === 'ip') {
    if (!NON_PUBLIC_RANGES.has(rangeOf(parsed.address))) {
      return fail(
        'HUB_ERR_CONFIG_INVALID',
        `'${entry}' is a public address; allowedAddresses may only name private ones`,
      );
    }
    return ok({ host: parsed.address, port: parsed.port });
  }
  return ok({ host: parsed.host, port: parsed.port });
}
