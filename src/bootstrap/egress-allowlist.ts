import type { HubConfig } from '../config/index.js';
import { createEgressGuard, type EgressGuard } from '../net/index.js';
import { hasPlaceholder } from '../registry/index.js';

/**
 * The destinations the egress guard lets through to private addresses: the admin's
 * `mcpSettings.allowedDomains`, plus the host:port of every remote server in the admin's own YAML
 * and of every single sign-on issuer.
 * The YAML is the admin's word, so an internal server it names needs no second entry; users'
 * servers never add anything here.
 */
export function egressAllowlist(
  config: Pick<HubConfig, 'mcpServers' | 'mcpSettings'> & Partial<Pick<HubConfig, 'sso'>>,
): string[] {
  const entries = new Set(config.mcpSettings.allowedDomains ?? []);
  for (const server of Object.values(config.mcpServers)) {
    if (server.type === 'stdio' || hasPlaceholder(server.url)) continue;
    const url = new URL(server.url);
    const port = url.port || (url.protocol === 'https:' ? '443' : url.protocol === 'wss:' ? '443' : '80');
    entries.add(`${url.hostname}:${port}`);
  }
  // Single sign-on issuers are named by the admin too (an internal Keycloak needs no second entry).
  for (const provider of config.sso ?? []) {
    const url = new URL(provider.issuer);
    entries.add(`${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`);
  }
  return [...entries];
}

/**
 * The hub's two ways out: `admin` for the admin's own servers (the implicit allowlist above) and
 * `users` for users' servers, which reach private addresses only through `allowedDomains`.
 */
export function createEgressGuards(
  config: Pick<HubConfig, 'mcpServers' | 'mcpSettings'> & Partial<Pick<HubConfig, 'sso'>>,
): {
  admin: EgressGuard;
  users: EgressGuard;
} {
  const { allowedAddresses } = config.mcpSettings;
  const addresses = allowedAddresses ? { allowedAddresses } : {};
  return {
    admin: createEgressGuard({ allowedDomains: egressAllowlist(config), ...addresses }),
    users: createEgressGuard({ allowedDomains: config.mcpSettings.allowedDomains ?? [], ...addresses }),
  };
}
