import { describe, expect, it } from 'vitest';
import { isPublicAddress, parseIpAddress } from './address-ranges.js';

function isPublic(text: string): boolean {
  const address = parseIpAddress(text);
  if (address === undefined) throw new Error(`not an address: ${text}`);
  return isPublicAddress(address);
}

describe('isPublicAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback /8'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'CGNAT'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this network'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fd00::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex spelling'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'IPv4-mapped metadata, long form'],
    ['::ffff:0:7f00:1', 'IPv4-translated (RFC 6145)'],
    ['::7f00:1', 'IPv4-compatible (deprecated)'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 (RFC 6052)'],
    ['64:ff9b:1::1', 'local-use NAT64 (RFC 8215)'],
    ['2002:a9fe:a9fe::', '6to4'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:db8::1', 'documentation'],
    ['100::1', 'discard'],
    ['fec0::1', 'site-local (deprecated)'],
  ])('refuses %s (%s)', (address) => {
    expect(isPublic(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
    'accepts the public address %s',
    (address) => {
      expect(isPublic(address)).toBe(true);
    },
  );
});

describe('parseIpAddress', () => {
  it('reads only the strict forms, never the legacy IPv4 spellings a URL parser normalises first', () => {
    for (const text of ['2130706433', '0x7f.1', '0177.0.0.1', '127.1', 'localhost', '[::1]', '']) {
      expect(parseIpAddress(text), text).toBeUndefined();
    }
  });

  it('judges an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(parseIpAddress('::ffff:7f00:1')?.toString()).toBe('127.0.0.1');
  });
});
