import type { ServerConfig } from '../config/index.js';
import type { CipherKeyring } from '../credentials/index.js';
import type { RegisteredServer } from '../registry/index.js';
import type { JsonObject, ServerRecord } from '../store/index.js';
import { mergeSecrets, openSecrets } from './secrets.js';
import { parseUserServerInput, type UserServerConfig } from './user-input.js';

/** What connecting once found out about a server (on create and on every update). */
export interface Inspection {
  /** The server answered 401 with a `WWW-Authenticate` challenge: each user authorizes first. */
  requiresOAuth: boolean;
  /** Tools listed at inspection; null when the server could not be listed without credentials. */
  toolCount: number | null;
  inspectedAt: number;
}

/**
 * The `config` column of a user-created server: the user's config with its secrets masked, and
 * the hub's own findings kept apart from it, so the config always re-validates as user input.
 * `title` sits at the top because the store reads `title` from there for search.
 */
export interface StoredDocument {
  v: 1;
  title: string;
  config: UserServerConfig;
  inspection: Inspection;
}

/** The JSON written to the `config` column. */
export function encodeDocument(config: UserServerConfig, inspection: Inspection): JsonObject {
  return { v: 1, title: config.title ?? '', config, inspection: { ...inspection } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readInspection(value: unknown): Inspection {
  const record = isObject(value) ? value : {};
  const toolCount = record.toolCount;
  return {
    requiresOAuth: record.requiresOAuth === true,
    toolCount: typeof toolCount === 'number' && Number.isSafeInteger(toolCount) ? toolCount : null,
    inspectedAt: typeof record.inspectedAt === 'number' ? record.inspectedAt : 0,
  };
}

/** A stored server whose document no longer passes as user input (changed outside the API). */
export class InvalidStoredServer extends Error {
  constructor(name: string, paths: readonly string[]) {
    // Paths only: the values may be secrets.
    super(`Stored MCP server '${name}' is invalid at ${paths.join(', ')}`);
    this.name = 'InvalidStoredServer';
  }
}

/**
 * Rows saved before `sharedOAuth` was refused in user input may hold it; it never had any effect on
 * a user-created server (each user always authorized alone), so it is dropped rather than making
 * the row unreadable.
 */
function withoutIgnoredFields(config: unknown): unknown {
  if (!isObject(config) || !Object.hasOwn(config, 'sharedOAuth')) return config;
  const { sharedOAuth: _ignored, ...rest } = config;
  return rest;
}

/**
 * Reads the `config` column back: the masked config re-validated by the same rules as user input,
 * so a row written outside the API cannot carry stdio, env references or admin-only fields.
 * Throws {@link InvalidStoredServer} otherwise.
 */
export function decodeDocument(record: Pick<ServerRecord, 'name' | 'config'>): StoredDocument {
  const parsed = parseUserServerInput(withoutIgnoredFields(record.config.config));
  if (record.config.v !== 1 || !parsed.ok) {
    throw new InvalidStoredServer(record.name, parsed.ok ? ['v'] : parsed.issues.map((i) => i.path));
  }
  return {
    v: 1,
    title: parsed.value.title ?? '',
    config: parsed.value,
    inspection: readInspection(record.config.inspection),
  };
}

/** The config the hub connects with: secrets opened, and the hub-managed fields set. */
export function connectableConfig(document: StoredDocument, plain: UserServerConfig): ServerConfig {
  return {
    ...plain,
    // Every user-created server is user-level: never shared, never connected unattended.
    startup: false,
    ...(document.inspection.requiresOAuth ? { requiresOAuth: true } : {}),
  };
}

/**
 * A stored server as the registry hands it out. The merged config (secrets in place) is validated
 * again, so what connects is exactly what user input may express.
 */
export function toRegisteredServer(record: ServerRecord, keyring: CipherKeyring): RegisteredServer {
  const document = decodeDocument(record);
  const merged = mergeSecrets(document.config, openSecrets(keyring, record.id, record.secrets));
  const checked = parseUserServerInput(merged);
  if (!checked.ok)
    throw new InvalidStoredServer(
      record.name,
      checked.issues.map((i) => i.path),
    );
  return {
    name: record.name,
    source: 'db',
    config: connectableConfig(document, checked.value),
    ownerId: record.ownerId,
  };
}
