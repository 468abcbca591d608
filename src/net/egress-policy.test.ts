import { describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { parseIpAddress } from './address-ranges.js';
import { createEgressPolicy } from './egress-policy.js';
import { type EgressTarget, targetOfUrl } from './egress-target.js';

function target(url: string): EgressTarget {
  const parsed = targetOfUrl(new URL(url));
  if (parsed === undefined) throw new Error(`no target: ${url}`);
  return parsed;
}

function allows(policy: ReturnType<typeof createEgressPolicy>, url: string, address: string): boolean {
  const parsed = parseIpAddress(address);
  if (parsed === undefined) throw new Error(`not an address: ${address}`);
  return policy.allows(target(url), parsed);
}

describe('createEgressPolicy', () => {
  it('with no entries allows public addresses only', () => {
    const policy = createEgressPolicy();
    expect(allows(policy, 'https://mcp.example.com/', '93.184.216.34')).toBe(true);
    expect(allows(policy, 'https://mcp.example.com/', '10.0.0.5')).toBe(false);
    expect(allows(policy, 'http://127.0.0.1/', '127.0.0.1')).toBe(false);
  });

  it('SS-14: a host:port entry allows that port only; other hosts stay refused', () => {
    const policy = createEgressPolicy(['mcp.internal.corp:8443']);
    expect(allows(policy, 'https://mcp.internal.corp:8443/', '10.1.2.3')).toBe(true);
    expect(allows(policy, 'http://mcp.internal.corp:8443/', '10.1.2.3')).toBe(true);
    expect(allows(policy, 'https://mcp.internal.corp:22/', '10.1.2.3')).toBe(false);
    expect(allows(policy, 'https://mcp.internal.corp/', '10.1.2.3')).toBe(false);
    expect(allows(policy, 'https://other.internal.corp:8443/', '10.1.2.3')).toBe(false);
  });

  it('SS-14: an https entry refuses http on the same host', () => {
    const policy = createEgressPolicy(['https://mcp.internal.corp:8443']);
    expect(allows(policy, 'https://mcp.internal.corp:8443/', '10.1.2.3')).toBe(true);
    expect(allows(policy, 'http://mcp.internal.corp:8443/', '10.1.2.3')).toBe(false);
    const anyPort = createEgressPolicy(['https://mcp.internal.corp']);
    expect(allows(anyPort, 'https://mcp.internal.corp:9000/', '10.1.2.3')).toBe(true);
    expect(allows(anyPort, 'http://mcp.internal.corp/', '10.1.2.3')).toBe(false);
  });

  it('reads `*.domain` as its subdomains at any depth and the domain itself, as LibreChat does', () => {
    const policy = createEgressPolicy(['*.corp.test']);
    expect(allows(policy, 'http://a.corp.test/', '10.0.0.1')).toBe(true);
    expect(allows(policy, 'http://a.b.corp.test/', '10.0.0.1')).toBe(true);
    expect(allows(policy, 'http://corp.test/', '10.0.0.1')).toBe(true);
    expect(allows(policy, 'http://evilcorp.test/', '10.0.0.1')).toBe(false);
    expect(allows(policy, 'http://corp.test.evil/', '10.0.0.1')).toBe(false);
  });

  it('matches a name with or without its trailing dot', () => {
    const policy = createEgressPolicy(['mcp.internal.corp']);
    expect(allows(policy, 'http://mcp.internal.corp./', '10.1.2.3')).toBe(true);
  });

  it('a CIDR entry covers the addresses a name resolves to, and IP literals', () => {
    const policy = createEgressPolicy(['10.0.0.0/8', 'fd00::/8']);
    expect(allows(policy, 'http://anything.test/', '10.200.0.1')).toBe(true);
    expect(allows(policy, 'http://10.1.1.1:9999/', '10.1.1.1')).toBe(true);
    expect(allows(policy, 'http://[::ffff:a01:101]/', '::ffff:a01:101')).toBe(true);
    expect(allows(policy, 'http://[fd00::5]/', 'fd00::5')).toBe(true);
    expect(allows(policy, 'http://anything.test/', '192.168.0.1')).toBe(false);
    expect(allows(policy, 'http://anything.test/', '169.254.169.254')).toBe(false);
  });

  it('reads a CIDR written in IPv4-mapped form as the IPv4 range', () => {
    const policy = createEgressPolicy(['::ffff:10.0.0.0/104']);
    expect(allows(policy, 'http://x.test/', '10.9.9.9')).toBe(true);
    expect(allows(policy, 'http://x.test/', '10.255.0.1')).toBe(true);
    expect(allows(policy, 'http://x.test/', '172.16.0.1')).toBe(false);
  });

  it('an IP entry allows that address (any spelling) on its port', () => {
    const policy = createEgressPolicy(['127.0.0.1:8080']);
    expect(allows(policy, 'http://127.0.0.1:8080/', '127.0.0.1')).toBe(true);
    expect(allows(policy, 'http://[::ffff:7f00:1]:8080/', '::ffff:7f00:1')).toBe(true);
    expect(allows(policy, 'http://127.0.0.1:8081/', '127.0.0.1')).toBe(false);
    expect(allows(policy, 'http://127.0.0.2:8080/', '127.0.0.2')).toBe(false);
  });

  it('a name entry never matches an IP literal, nor an IP entry a name by itself', () => {
    const policy = createEgressPolicy(['localhost']);
    expect(allows(policy, 'http://127.0.0.1/', '127.0.0.1')).toBe(false);
    expect(allows(policy, 'http://localhost/', '127.0.0.1')).toBe(true);
  });

  it("reads LibreChat's allowedAddresses as host:port exemptions", () => {
    const policy = createEgressPolicy([], ['localhost:11434', '10.0.0.7:8000']);
    expect(allows(policy, 'http://localhost:11434/', '127.0.0.1')).toBe(true);
    expect(allows(policy, 'http://localhost:11435/', '127.0.0.1')).toBe(false);
    expect(allows(policy, 'http://db.test:8000/', '10.0.0.7')).toBe(true);
    expect(allows(policy, 'http://db.test:8001/', '10.0.0.7')).toBe(false);
  });

  it('refuses an invalid entry loudly rather than guessing', () => {
    let caught: unknown;
    try {
      createEgressPolicy(['http://a.example/path']);
    } catch (error) {
      caught = error;
    }
    expect(isHubError(caught, 'HUB_ERR_CONFIG_INVALID')).toBe(true);
  });
});
