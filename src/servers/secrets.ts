import type { ConfigIssue } from '../config/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { UserServerConfig } from './user-input.js';

/**
 * What a secret reads as in every response (SE-07). A PATCH that sends it back in the same place
 * keeps the stored value.
 */
export const SECRET_MASK = '***';

/** The secret values of one user-created server, stored encrypted apart from its config. */
export interface ServerSecrets {
  /** Every header value, by header name: headers carry keys more often than not. */
  headers: Record<string, string>;
  oauthClientSecret?: string;
  apiKey?: string;
}

/** A config with every secret replaced by {@link SECRET_MASK}, and the secrets taken out of it. */
export interface SplitConfig {
  masked: UserServerConfig;
  secrets: ServerSecrets;
}

/** An own value of a record: a header named `constructor` must not find Object.prototype's. */
function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Takes the secrets out of a config, leaving the mask in their place. */
export function splitSecrets(config: UserServerConfig): SplitConfig {
  const masked: UserServerConfig = { ...config };
  const secrets: ServerSecrets = { headers: {} };
  if (config.headers) {
    secrets.headers = { ...config.headers };
    masked.headers = Object.fromEntries(Object.keys(config.headers).map((name) => [name, SECRET_MASK]));
  }
  if (config.oauth?.client_secret !== undefined) {
    secrets.oauthClientSecret = config.oauth.client_secret;
    masked.oauth = { ...config.oauth, client_secret: SECRET_MASK };
  }
  if (config.apiKey?.key !== undefined) {
    secrets.apiKey = config.apiKey.key;
    masked.apiKey = { ...config.apiKey, key: SECRET_MASK };
  }
  return { masked, secrets };
}

/** Puts stored secrets back into a masked config; a secret with no stored value stays masked. */
export function mergeSecrets(masked: UserServerConfig, secrets: ServerSecrets): UserServerConfig {
  const merged: UserServerConfig = { ...masked };
  if (masked.headers) {
    merged.headers = Object.fromEntries(
      Object.entries(masked.headers).map(([name, value]) => [name, own(secrets.headers, name) ?? value]),
    );
  }
  if (masked.oauth?.client_secret !== undefined && secrets.oauthClientSecret !== undefined) {
    merged.oauth = { ...masked.oauth, client_secret: secrets.oauthClientSecret };
  }
  if (masked.apiKey?.key !== undefined && secrets.apiKey !== undefined) {
    merged.apiKey = { ...masked.apiKey, key: secrets.apiKey };
  }
  return merged;
}

/**
 * An update's config as it would be saved if every {@link SECRET_MASK} were kept: each mask
 * replaced by the stored value where there is one. For comparing with the stored config; the
 * refusals are {@link keepMaskedSecrets}'s.
 */
export function withStoredSecrets(incoming: UserServerConfig, stored: ServerSecrets): UserServerConfig {
  const out: UserServerConfig = { ...incoming };
  const keep = (value: string, kept: string | undefined): string =>
    value === SECRET_MASK ? (kept ?? value) : value;
  if (incoming.headers) {
    out.headers = Object.fromEntries(
      Object.entries(incoming.headers).map(([name, value]) => [name, keep(value, own(stored.headers, name))]),
    );
  }
  if (incoming.oauth?.client_secret !== undefined) {
    out.oauth = {
      ...incoming.oauth,
      client_secret: keep(incoming.oauth.client_secret, stored.oauthClientSecret),
    };
  }
  if (incoming.apiKey?.key !== undefined) {
    out.apiKey = { ...incoming.apiKey, key: keep(incoming.apiKey.key, stored.apiKey) };
  }
  return out;
}

/**
 * The origins a config's secrets are sent to: the server itself (and so the metadata and
 * registration endpoints discovered from it) and every configured OAuth endpoint. The revocation
 * endpoint receives the client's secret and users' tokens just as the token endpoint does.
 */
function destinations(config: UserServerConfig): string {
  const oauth = config.oauth;
  const urls = [config.url, oauth?.authorization_url, oauth?.token_url, oauth?.revocation_endpoint];
  return urls.map((url) => (url !== undefined && URL.canParse(url) ? new URL(url).origin : '')).join(' ');
}

/**
 * Replaces each {@link SECRET_MASK} in an update with the stored value (SE-07). A mask is refused
 * when nothing is stored there, and when the update sends the server elsewhere: an editor must not
 * be able to point someone else's key at a host of their choosing without knowing the key.
 */
export function keepMaskedSecrets(
  incoming: UserServerConfig,
  previous: UserServerConfig,
  stored: ServerSecrets,
): { ok: true; value: UserServerConfig } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const moved = destinations(incoming) !== destinations(previous);
  const keep = (path: string, value: string | undefined): string | undefined => {
    if (value === undefined) {
      issues.push({ path: `config.${path}`, message: 'is masked, but no value is stored to keep' });
    } else if (moved) {
      issues.push({
        path: `config.${path}`,
        message: "is masked: give the value again when the server's URL or OAuth endpoints change",
      });
    }
    return value;
  };
  const out: UserServerConfig = { ...incoming };
  if (incoming.headers) {
    out.headers = Object.fromEntries(
      Object.entries(incoming.headers).map(([name, value]) => [
        name,
        value === SECRET_MASK ? (keep(`headers.${name}`, own(stored.headers, name)) ?? value) : value,
      ]),
    );
  }
  if (incoming.oauth?.client_secret === SECRET_MASK) {
    const kept = keep('oauth.client_secret', stored.oauthClientSecret);
    if (kept !== undefined) out.oauth = { ...incoming.oauth, client_secret: kept };
  }
  if (incoming.apiKey?.key === SECRET_MASK) {
    const kept = keep('apiKey.key', stored.apiKey);
    if (kept !== undefined) out.apiKey = { ...incoming.apiKey, key: kept };
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: out };
}

/** AAD for a server's secrets: an envelope copied onto another server's row does not open. */
function secretsAad(serverId: string): string {
  return `server_secrets|${serverId}`;
}

function isEmpty(secrets: ServerSecrets): boolean {
  return (
    Object.keys(secrets.headers).length === 0 &&
    secrets.oauthClientSecret === undefined &&
    secrets.apiKey === undefined
  );
}

/** Encrypts a server's secrets for the `secrets` column; null when there are none. */
export function sealSecrets(keyring: CipherKeyring, serverId: string, secrets: ServerSecrets): string | null {
  if (isEmpty(secrets)) return null;
  return keyring.encrypt(JSON.stringify(secrets), secretsAad(serverId));
}

function stringRecord(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/**
 * Decrypts a server's secrets. Throws `HUB_ERR_DECRYPT_FAILED` when the envelope does not open
 * (tampered, copied from another row, or sealed with a key the hub no longer has).
 */
export function openSecrets(keyring: CipherKeyring, serverId: string, sealed: string | null): ServerSecrets {
  if (sealed === null) return { headers: {} };
  const parsed: unknown = JSON.parse(keyring.decrypt(sealed, secretsAad(serverId)));
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const secrets: ServerSecrets = { headers: stringRecord(record.headers) };
  if (typeof record.oauthClientSecret === 'string') secrets.oauthClientSecret = record.oauthClientSecret;
  if (typeof record.apiKey === 'string') secrets.apiKey = record.apiKey;
  return secrets;
}
