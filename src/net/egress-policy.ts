import { type AllowedDomainRule, parseAllowedAddress, parseAllowedDomain } from '../config/index.js';
import { HubError } from '../errors/index.js';
import { type IpAddress, inNetwork, isPublicAddress, parseIpAddress } from './address-ranges.js';
import type { EgressTarget } from './egress-target.js';

/** Who may be reached: public addresses, and what the admin allowlisted. */
export interface EgressPolicy {
  /**
   * True when the target may connect to `address` (one DNS answer, or the URL's IP literal):
   * the address is public, or an entry allows it (the allowlist is the only way in).
   */
  allows(target: EgressTarget, address: IpAddress): boolean;
}

/** A rule about names (`host`, `*.domain`, an `allowedAddresses` host name). */
interface NameRule {
  matches(hostname: string): boolean;
  port?: number;
  scheme?: 'http' | 'https';
}

/** A rule about addresses (an IP, a CIDR, an `allowedAddresses` IP). */
interface AddressRule {
  network: IpAddress;
  prefixLength: number;
  port?: number;
  scheme?: 'http' | 'https';
}

/** Where an entry came from, for the error a bad one raises. */
const DOMAINS_KEY = 'mcpSettings.allowedDomains';
const ADDRESSES_KEY = 'mcpSettings.allowedAddresses';

/**
 * Compiles `mcpSettings.allowedDomains` (host, `*.domain`, host:port, IP, CIDR, `https://host[:port]`)
 * and LibreChat's `mcpSettings.allowedAddresses` (`host:port`) into a policy. An entry with a port
 * allows only that port; one with a scheme only that scheme (SS-14). Config validation has already
 * checked the entries, so a bad one here is a wiring mistake and throws.
 */
export function createEgressPolicy(
  allowedDomains: readonly string[] = [],
  allowedAddresses: readonly string[] = [],
): EgressPolicy {
  const names: NameRule[] = [];
  const addresses: AddressRule[] = [];
  for (const entry of allowedDomains) {
    const parsed = parseAllowedDomain(entry);
    if (!parsed.ok) throw invalidEntry(DOMAINS_KEY, parsed.message);
    const rule = compileDomainRule(parsed.value);
    if ('matches' in rule) names.push(rule);
    else addresses.push(rule);
  }
  for (const entry of allowedAddresses) {
    const parsed = parseAllowedAddress(entry);
    if (!parsed.ok) throw invalidEntry(ADDRESSES_KEY, parsed.message);
    const { host, port } = parsed.value;
    const address = parseIpAddress(host);
    if (address === undefined) names.push({ matches: (hostname) => hostname === host, port });
    else addresses.push({ ...exactly(address), port });
  }

  /** An entry names the target's host, so every address it resolves to may be reached. */
  const namesHost = (target: EgressTarget): boolean => {
    // An IP literal is judged by the address rules, so a name rule never matches one.
    if (parseIpAddress(target.hostname) !== undefined) return false;
    const hostname = withoutTrailingDot(target.hostname);
    return names.some((rule) => fitsTarget(rule, target) && rule.matches(hostname));
  };

  return {
    allows(target, address) {
      if (isPublicAddress(address) || namesHost(target)) return true;
      return addresses.some(
        (rule) => fitsTarget(rule, target) && inNetwork(address, rule.network, rule.prefixLength),
      );
    },
  };
}

function compileDomainRule(rule: AllowedDomainRule): NameRule | AddressRule {
  const constraints = {
    ...('port' in rule && rule.port !== undefined ? { port: rule.port } : {}),
    ...('scheme' in rule && rule.scheme !== undefined ? { scheme: rule.scheme } : {}),
  };
  switch (rule.kind) {
    case 'host':
      return { matches: (hostname) => hostname === rule.host, ...constraints };
    case 'wildcard':
      // As LibreChat reads `*.example.com`: its subdomains at any depth and example.com itself.
      return {
        matches: (hostname) => hostname === rule.suffix || hostname.endsWith(`.${rule.suffix}`),
        ...constraints,
      };
    case 'ip':
      return { ...exactly(parseEntryAddress(rule.address)), ...constraints };
    case 'cidr':
      return cidrRule(rule.network, rule.prefixLength);
  }
}

/**
 * Addresses are compared after IPv4-mapped IPv6 becomes IPv4 (address-ranges.ts), so a CIDR written
 * in mapped form (`::ffff:10.0.0.0/104`) is read as the IPv4 range it denotes.
 */
function cidrRule(networkText: string, prefixLength: number): AddressRule {
  const network = parseEntryAddress(networkText);
  const mapped = network.kind() === 'ipv4' && networkText.includes(':');
  if (!mapped) return { network, prefixLength };
  return { network, prefixLength: Math.max(prefixLength - 96, 0) };
}

/** An address rule for one address. */
function exactly(address: IpAddress): AddressRule {
  return { network: address, prefixLength: address.kind() === 'ipv4' ? 32 : 128 };
}

function parseEntryAddress(text: string): IpAddress {
  const address = parseIpAddress(text);
  if (address === undefined) throw invalidEntry(DOMAINS_KEY, `'${text}' is not an IP address`);
  return address;
}

function fitsTarget(rule: { port?: number; scheme?: 'http' | 'https' }, target: EgressTarget): boolean {
  if (rule.port !== undefined && rule.port !== target.port) return false;
  return rule.scheme === undefined || `${rule.scheme}:` === target.protocol;
}

/** `mcp.example.com.` is the same name as `mcp.example.com`, and must match the same entries. */
function withoutTrailingDot(hostname: string): string {
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

function invalidEntry(key: string, message: string): HubError {
  return new HubError('HUB_ERR_CONFIG_INVALID', { message: `${key}: ${message}` });
}
