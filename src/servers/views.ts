import type { ServerConfig } from '../config/index.js';
import { needsOAuth } from '../registry/index.js';
import { SECRET_MASK } from './secrets.js';
import type { Inspection } from './stored-server.js';
import type { UserServerConfig } from './user-input.js';

/**
 * A server as `/api/mcp/servers` shows it. Built field by field (an allowlist), so nothing stored
 * reaches a response unless named here; secrets are always {@link SECRET_MASK}.
 */
export type ServerView = {
  serverName: string;
  /** `yaml`: the administrator's file; `user`: created through the API. */
  source: 'yaml' | 'user';
  type: ServerConfig['type'];
  title?: string;
  description?: string;
  iconPath?: string;
  requiresOAuth: boolean;
  /** Tools found when the server was inspected; null when they could not be listed. User servers only. */
  toolCount?: number | null;
  /**
   * The servers table id of a user-created server: the `resourceId` LibreChat's client sends when
   * it shares one. YAML servers have no row, and so no id, as in LibreChat.
   */
  dbId?: string;
  /** The variables each user supplies: names, titles and descriptions, never a value. */
  customUserVars?: Record<string, CustomUserVarView>;
} & Record<string, unknown>;

/** How a declared user variable is shown: what to ask for, not what anyone answered. */
export interface CustomUserVarView {
  title: string;
  description: string;
  /** Whether a client should mask the input; only when the administrator said. */
  sensitive?: boolean;
}

/** What a view of one server may carry beside its config. */
export interface ViewExtras {
  inspection?: Inspection | undefined;
  /** The servers table id (user-created servers only). */
  dbId?: string | undefined;
}

function mask(record: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  return record === undefined
    ? undefined
    : Object.fromEntries(Object.keys(record).map((name) => [name, SECRET_MASK]));
}

/** Only the defined values of a record of optional fields (exactOptionalPropertyTypes). */
function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

/** The declared variables, field by field: a key added to the config later is not shown by accident. */
function userVars(config: ServerConfig): Record<string, CustomUserVarView> | undefined {
  const declared = config.customUserVars;
  if (declared === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(declared).map(([name, variable]): [string, CustomUserVarView] => [
      name,
      {
        title: variable.title,
        description: variable.description,
        ...('sensitive' in variable && typeof variable.sensitive === 'boolean'
          ? { sensitive: variable.sensitive }
          : {}),
      },
    ]),
  );
}

/**
 * What every caller who may see a server is shown. The declared variables are in it because each
 * user must be able to supply them (LibreChat's variables dialog reads them from here).
 */
function summary(
  name: string,
  source: ServerView['source'],
  config: ServerConfig,
  dbId?: string,
): ServerView {
  return {
    serverName: name,
    source,
    type: config.type,
    requiresOAuth: needsOAuth(config),
    ...defined({
      dbId,
      title: config.title,
      description: config.description,
      iconPath: config.iconPath,
      customUserVars: userVars(config),
    }),
  };
}

/**
 * What a caller who may use but not change a server sees: what it is, not where it is or how it
 * authenticates. The URL is left out too: it may hold a key in its query or name internal hosts.
 */
export function publicView(
  name: string,
  source: ServerView['source'],
  config: ServerConfig,
  extras: ViewExtras = {},
): ServerView {
  return {
    ...summary(name, source, config, extras.dbId),
    ...(extras.inspection ? { toolCount: extras.inspection.toolCount } : {}),
  };
}

/** What the owner, an editor or an admin sees of a user-created server: all of it, secrets masked. */
export function editableUserView(
  name: string,
  config: UserServerConfig,
  inspection: Inspection,
  dbId: string,
): ServerView {
  const withOAuth: ServerConfig = inspection.requiresOAuth ? { ...config, requiresOAuth: true } : config;
  return {
    ...summary(name, 'user', withOAuth, dbId),
    toolCount: inspection.toolCount,
    ...defined({
      url: config.url,
      headers: mask(config.headers),
      oauth:
        config.oauth &&
        defined({
          ...config.oauth,
          client_secret: config.oauth.client_secret === undefined ? undefined : SECRET_MASK,
        }),
      apiKey:
        config.apiKey &&
        defined({ ...config.apiKey, key: config.apiKey.key === undefined ? undefined : SECRET_MASK }),
    }),
  };
}

/**
 * What an admin sees of a YAML server: the entry as written, every header, env and key value
 * masked, and no command line: LibreChat never sends one either, and `args` often carry a key or a
 * path. The file itself is where an administrator reads it.
 */
export function adminYamlView(name: string, config: ServerConfig): ServerView {
  const fields: Record<string, unknown> = { ...config, oauth_headers: mask(config.oauth_headers) };
  if (config.type === 'stdio') {
    fields.env = mask(config.env);
    delete fields.command;
    delete fields.args;
    delete fields.cwd;
  }
  if (config.type === 'sse' || config.type === 'streamable-http') fields.headers = mask(config.headers);
  if (config.oauth) {
    fields.oauth = defined({
      ...config.oauth,
      client_secret: config.oauth.client_secret === undefined ? undefined : SECRET_MASK,
    });
  }
  if (config.apiKey) {
    fields.apiKey = defined({
      ...config.apiKey,
      key: config.apiKey.key === undefined ? undefined : SECRET_MASK,
    });
  }
  // The summary last: its name, source and effective requiresOAuth are the hub's, not the file's.
  return { ...defined(fields), ...summary(name, 'yaml', config) };
}
