import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** An IP address as ipaddr.js models it. */
export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * RFC 4291 §2.4 and IANA's registry: global unicast IPv6 is only ever assigned from 2000::/3.
 * ipaddr.js names the special blocks inside it (6to4, Teredo, documentation…) but calls the rest of
 * the space "unicast", including the deprecated IPv4-compatible `::a.b.c.d` form (RFC 4291
 * §2.5.5.1), so the guard also requires this prefix.
 */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Parses an IP literal (no brackets) into the address a socket would reach: an IPv4-mapped IPv6
 * address (`::ffff:7f00:1`) becomes the IPv4 address it carries, so it is judged by that address
 * (LibreChat's filter missed this spelling: CVE-2026-31943). Only the strict forms `net.isIP`
 * accepts count; ipaddr.js alone would also read `0x7f.1`, which the WHATWG URL parser has already
 * normalised before anything reaches here. Undefined when `text` is not an address.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (isIP(text) === 0) return undefined;
  try {
    return ipaddr.process(text);
  } catch {
    // net.isIP accepts a few spellings (e.g. some zone ids) that ipaddr.js does not: not an address we judge.
    return undefined;
  }
}

/**
 * True when `address` is publicly routable: its ipaddr.js range is `unicast` (so never loopback,
 * private, link-local, unique-local, CGNAT, unspecified, multicast, broadcast, reserved, NAT64
 * `64:ff9b::/96`, 6to4, Teredo…), and for IPv6 it lies in 2000::/3. Anything else needs an
 * allowlist entry (docs/security.md, "Egress").
 */
export function isPublicAddress(address: IpAddress): boolean {
  if (address.range() !== 'unicast') return false;
  return address.kind() === 'ipv4' || address.match(GLOBAL_UNICAST_V6);
}

/** True when `address` lies in `network/prefixLength`; false when the families differ. */
export function inNetwork(address: IpAddress, network: IpAddress, prefixLength: number): boolean {
  return address.kind() === network.kind() && address.match(network, prefixLength);
}
