import { createHash } from 'node:crypto';
import type { ServerConfig } from '../config/index.js';

/**
 * The parts of a server's config that decide where a credential goes: the transport and its
 * address (URL with its query template, or the stdio command line and environment), the header
 * templates a user's values are placed into, where an API key is put, and the whole OAuth block
 * (every endpoint, the client, the scopes). `oauth.client_secret` is left out: it is not a place,
 * and rotating it must not cost every user their authorization. `oauth.redirect_uri` is never
 * used (the hub's own callback is), so it is left out too.
 */
export function destinationFields(config: ServerConfig): Record<string, unknown> {
  const fields: Record<string, unknown> = { type: config.type };
  switch (config.type) {
    case 'stdio':
      Object.assign(fields, { command: config.command, args: config.args, env: config.env, cwd: config.cwd });
      break;
    case 'sse':
    case 'streamable-http':
      Object.assign(fields, { url: config.url, headers: config.headers });
      break;
    case 'websocket':
      fields.url = config.url;
      break;
  }
  if (config.apiKey) {
    const { source, authorization_type, custom_header } = config.apiKey;
    fields.apiKey = { source, authorization_type, custom_header };
  }
  if (config.oauth) {
    const { client_secret: _secret, redirect_uri: _unused, ...oauth } = config.oauth;
    fields.oauth = oauth;
  }
  return fields;
}

/** JSON with object keys sorted at every level, so the same config always reads the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const DIGEST_VERSION = 'd1';

/**
 * A digest of {@link destinationFields}: sealed into every stored credential of the server when it
 * is written, and compared before the credential is used. A credential whose digest differs from
 * the server's current one was given for another destination and reads as absent.
 */
export function destinationDigest(config: ServerConfig): string {
  // Checked on every request to an OAuth server: an admin server's config object lives as long as
  // the process (configs are frozen), so its digest is computed once.
  const known = digests.get(config);
  if (known !== undefined) return known;
  const digest = createHash('sha256')
    .update(canonicalJson(destinationFields(config)))
    .digest('base64url');
  const value = `${DIGEST_VERSION}.${digest}`;
  // Only a frozen config cannot change under its remembered digest.
  if (Object.isFrozen(config)) digests.set(config, value);
  return value;
}

const digests = new WeakMap<ServerConfig, string>();

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The destination fields an update changes, as paths (`url`, `oauth.revocation_endpoint`,
 * `headers.X-Api-Key`), sorted; empty when credentials may stay. Names only, never values.
 */
export function changedDestinationFields(before: ServerConfig, after: ServerConfig): string[] {
  const a = destinationFields(before);
  const b = destinationFields(after);
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (canonicalJson(x) === canonicalJson(y)) continue;
    if (isRecord(x) && isRecord(y)) {
      for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (canonicalJson(x[sub]) !== canonicalJson(y[sub])) changed.push(`${key}.${sub}`);
      }
    } else {
      changed.push(key);
    }
  }
  return changed.sort();
}
