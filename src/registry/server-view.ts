import type { ServerConfig } from '../config/index.js';
import { hasPlaceholder } from './placeholders.js';

/** A custom user variable a server needs: LibreChat's `authConfig` entry. */
export interface UserVarField {
  authField: string;
  label: string;
  description: string;
}

/** The variable name an `apiKey: {source: user}` server stores the user's key under (as LibreChat does). */
export const API_KEY_VAR = 'MCP_API_KEY';

/** Answers about a frozen config (the admin's file), computed once: it cannot change under them. */
const fieldsOf = new WeakMap<ServerConfig, readonly UserVarField[]>();
const scopes = new WeakMap<ServerConfig, 'app' | 'user'>();

/**
 * The custom variables a server asks each user for, including a user-provided API key. For a
 * frozen config they are collected once (asked on every call); each caller gets its own array.
 */
export function userVarFields(server: ServerConfig): UserVarField[] {
  const known = fieldsOf.get(server);
  if (known !== undefined) return known.slice();
  const fields = collectFields(server);
  if (Object.isFrozen(server))
    fieldsOf.set(server, Object.freeze(fields.map((f) => Object.freeze({ ...f }))));
  return fields;
}

function collectFields(server: ServerConfig): UserVarField[] {
  const fields = Object.entries(server.customUserVars ?? {}).map(([authField, v]) => ({
    authField,
    label: v.title,
    description: v.description,
  }));
  if (server.apiKey?.source === 'user' && !fields.some((f) => f.authField === API_KEY_VAR)) {
    fields.push({ authField: API_KEY_VAR, label: 'API Key', description: 'Your API key for this server' });
  }
  return fields;
}

/** Names of required variables the user has not set (empty means ready). */
export function missingUserVars(server: ServerConfig, userVars: Readonly<Record<string, string>>): string[] {
  return userVarFields(server)
    .map((f) => f.authField)
    .filter((name) => !(Object.hasOwn(userVars, name) && userVars[name]));
}

/** True when the server is protected by OAuth, by configuration. */
export function needsOAuth(server: ServerConfig): boolean {
  return server.requiresOAuth === true || server.oauth !== undefined;
}

/**
 * App-level (one connection shared by all users) or user-level (one per user):
 * anything that differs per user (OAuth, custom variables, a user's API key, identity placeholders)
 * or that must not run unattended (`startup: false`) is user-level.
 */
export function connectionScope(server: ServerConfig): 'app' | 'user' {
  const known = scopes.get(server);
  if (known !== undefined) return known;
  const scope = scopeOf(server);
  if (Object.isFrozen(server)) scopes.set(server, scope);
  return scope;
}

function scopeOf(server: ServerConfig): 'app' | 'user' {
  if (needsOAuth(server) || userVarFields(server).length > 0 || server.startup === false) return 'user';
  const texts: string[] = [];
  if (server.type === 'stdio') {
    texts.push(server.command, ...server.args, ...Object.values(server.env ?? {}));
  } else {
    texts.push(server.url);
    if (server.type !== 'websocket') texts.push(...Object.values(server.headers ?? {}));
  }
  return texts.some(hasPlaceholder) ? 'user' : 'app';
}
