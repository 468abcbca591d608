import { describe, expect, it } from 'vitest';
import { parseAllowedAddress, parseAllowedDomain } from './allowed-domains.js';

describe('parseAllowedDomain', () => {
  it('reads each documented shape', () => {
    const parsed = [
      'mcp.example.com',
      'Example.COM',
      '*.example.com',
      'localhost:8080',
      'mcp_server',
      '172.24.1.165',
      '10.0.0.0/8',
      'fd00::/8',
      '::1',
      '[::1]:3000',
      'https://api.example.com:8443',
      'http://mcp-server:3000/',
      'https://*.example.com',
    ].map((entry) => {
      const result = parseAllowedDomain(entry);
      return result.ok ? result.value : result.message;
    });
    expect(parsed).toEqual([
      { kind: 'host', host: 'mcp.example.com' },
      { kind: 'host', host: 'example.com' },
      { kind: 'wildcard', suffix: 'example.com' },
      { kind: 'host', host: 'localhost', port: 8080 },
      { kind: 'host', host: 'mcp_server' },
      { kind: 'ip', address: '172.24.1.165' },
      { kind: 'cidr', network: '10.0.0.0', prefixLength: 8 },
      { kind: 'cidr', network: 'fd00::', prefixLength: 8 },
      { kind: 'ip', address: '::1' },
      { kind: 'ip', address: '::1', port: 3000 },
      { kind: 'host', host: 'api.example.com', port: 8443, scheme: 'https' },
      { kind: 'host', host: 'mcp-server', port: 3000, scheme: 'http' },
      { kind: 'wildcard', suffix: 'example.com', scheme: 'https' },
    ]);
  });

  it.each([
    '',
    ' example.com',
    'exa mple.com',
    'https://example.com/path',
    'https://user@example.com',
    'ftp://example.com',
    'example.com:0',
    'example.com:70000',
    'example.com:http',
    '*.',
    '**.example.com',
    'foo.*.example.com',
    '-bad-.example.com',
    '256.1.1.1',
    '10.1',
    '0x7f.0.0.1',
    '10.0.0.0/33',
    '10.0.0.0/8:80',
    '[::1',
    '[not-v6]:80',
    'a..b',
    `${'a'.repeat(64)}.com`,
  ])('refuses %j', (entry) => {
    expect(parseAllowedDomain(entry)).toMatchObject({ ok: false, code: 'HUB_ERR_CONFIG_INVALID' });
  });
});

describe('parseAllowedAddress', () => {
  it('reads host:port pairs for private hosts', () => {
    expect(parseAllowedAddress('host.docker.internal:8080')).toEqual({
      ok: true,
      value: { host: 'host.docker.internal', port: 8080 },
    });
    expect(parseAllowedAddress('10.0.0.5:8000')).toEqual({
      ok: true,
      value: { host: '10.0.0.5', port: 8000 },
    });
    expect(parseAllowedAddress('[::1]:11434')).toEqual({ ok: true, value: { host: '::1', port: 11434 } });
    expect(parseAllowedAddress('[::ffff:192.168.1.2]:80').ok).toBe(true);
  });

  it.each([
    'localhost',
    '10.0.0.5',
    '*.example.com:80',
    '8.8.8.8:53',
    '[2001:4860:4860::8888]:443',
    '10.0.0.0/8',
  ])('refuses %j', (entry) => {
    expect(parseAllowedAddress(entry).ok).toBe(false);
  });
});
