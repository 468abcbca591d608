import type { ConfigFile } from './file-schema.js';
import { formatPath } from './issues.js';
import type { ServerConfig } from './server-schema.js';

/**
 * A key the file sets that the hub accepts (so a `librechat.yaml` validates unchanged) but does not act
 * on. Logged once at start, naming the key, where it was set and why it has no effect.
 */
export interface ConfigWarning {
  /** The key, as a path pattern: `mcpServers.*.proxy`. */
  key: string;
  /** Where it was set: `mcpServers.github.proxy`, one entry per place. */
  paths: string[];
  /** Why the hub does not act on it, safe to print. */
  reason: string;
}

const LIBRECHAT_ONLY = 'has no counterpart in a standalone hub';

/** A server key the hub does not act on: when it counts as set, and why it is ignored. */
interface ServerKeyRule {
  key: string;
  isSet: (server: ServerConfig) => boolean;
  reason: string;
}

const SERVER_KEY_RULES: readonly ServerKeyRule[] = [
  {
    key: 'oauthRefreshCoordination',
    isSet: (server) => server.oauthRefreshCoordination !== undefined,
    reason: `${LIBRECHAT_ONLY}: it switches LibreChat's replicas between writer protocols; the hub's instances always refresh under one lock`,
  },
  {
    key: 'oauthPersistenceWaitTimeout',
    isSet: (server) => server.oauthPersistenceWaitTimeout !== undefined,
    reason: `${LIBRECHAT_ONLY}: the hub stores a callback's tokens before it answers, so nothing waits for them`,
  },
  {
    key: 'obo',
    isSet: (server) => server.type !== 'stdio' && server.type !== 'websocket' && server.obo !== undefined,
    reason: `${LIBRECHAT_ONLY}: On-Behalf-Of exchanges the user's OpenID login token, which only LibreChat holds`,
  },
];

/** Every key in `file` the hub accepts but ignores, one warning per key, in a fixed order. */
export function unusedKeyWarnings(
  file: Pick<ConfigFile, 'mcpServers' | 'mcpSettings' | 'interface'>,
): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const servers = Object.entries(file.mcpServers);
  for (const rule of SERVER_KEY_RULES) {
    const paths = servers
      .filter(([, server]) => rule.isSet(server))
      .map(([name]) => formatPath(['mcpServers', name, ...rule.key.split('.')]));
    if (paths.length > 0) warnings.push({ key: `mcpServers.*.${rule.key}`, paths, reason: rule.reason });
  }
  if (file.mcpSettings.catalogRecovery !== undefined) {
    warnings.push({
      key: 'mcpSettings.catalogRecovery',
      paths: ['mcpSettings.catalogRecovery'],
      reason: `${LIBRECHAT_ONLY}: it tunes how LibreChat's tool catalog recovers, and the hub keeps no such catalog`,
    });
  }
  for (const name of ['toolsRefreshInterval', 'statusRefreshInterval'] as const) {
    if (file.interface?.mcpServers?.[name] !== undefined) {
      warnings.push({
        key: `interface.mcpServers.${name}`,
        paths: [`interface.mcpServers.${name}`],
        reason: `${LIBRECHAT_ONLY}: it sets how often LibreChat's own pages poll, and the hub serves no pages`,
      });
    }
  }
  return warnings;
}
