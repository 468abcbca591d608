import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HubError } from '../errors/index.js';
import { deepFreeze } from './deep-freeze.js';
import type { EnvSource } from './env-expansion.js';
import { type EnvSettings, configPathFrom, loadEnvSettings } from './env-settings.js';
import type { ConfigIssue } from './issues.js';
import type { RoleName, RolePermissions } from './roles-schema.js';
import type { ServerConfig } from './server-schema.js';
import type { McpSettings } from './settings-schema.js';
import { type SsoProviderConfig, ssoProviderFromEnv } from './sso-schema.js';
import type { ConfigWarning } from './unused-keys.js';
import { type ConfigFileContents, validateConfigText } from './validate-config.js';

/**
 * The hub's whole configuration, read once at start and deeply frozen. Nested objects are frozen at run
 * time but typed as their plain shapes, so they can be handed to code that takes a `ServerConfig`.
 */
export interface HubConfig {
  readonly env: EnvSettings;
  /** Absolute path of the YAML file that was read (or looked for). */
  readonly configPath: string;
  readonly mcpServers: Readonly<Record<string, ServerConfig>>;
  readonly mcpSettings: McpSettings;
  readonly roles: Readonly<Record<RoleName, RolePermissions>>;
  /** Identity providers for single sign-on: `auth.sso` in the file, then the `OIDC_*` one. */
  readonly sso: readonly SsoProviderConfig[];
  /** Keys the file sets that the hub accepts but does not act on; the hub logs each once at start. */
  readonly warnings: readonly ConfigWarning[];
}

/** Where {@link loadConfig} reads from; both are passed in so tests need not touch the real process. */
export interface LoadConfigOptions {
  /** The environment, normally `process.env`. */
  env: EnvSource;
  /** The directory relative paths are resolved against, normally `process.cwd()`. */
  cwd: string;
}

/** What `switchboard config check` prints from. */
export interface ConfigCheck {
  ok: boolean;
  issues: ConfigIssue[];
  /** Keys accepted but not acted on; they do not make the file invalid. */
  warnings: ConfigWarning[];
}

type FileRead =
  { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; issue: ConfigIssue };

async function readConfigFile(filePath: string): Promise<FileRead> {
  try {
    return { kind: 'text', text: await readFile(filePath, 'utf8') };
  } catch (error) {
    const code =
      typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown error';
    if (code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unreadable', issue: { path: '', message: `cannot read ${filePath} (${code})` } };
  }
}

/**
 * Reads the environment and `switchboard.yaml` and returns the frozen {@link HubConfig}. A missing YAML
 * file means no admin servers (the hub still runs; users may add their own). Any problem anywhere throws
 * one `HubError('HUB_ERR_CONFIG_INVALID')` whose `details.errors` lists every issue, environment and
 * file together.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<HubConfig> {
  const envResult = loadEnvSettings(options.env, options.cwd);
  const configPath = configPathFrom(options.env, options.cwd);
  const issues: ConfigIssue[] = envResult.ok ? [] : [...envResult.issues];
  const envProvider = ssoProviderFromEnv(options.env);
  if (!envProvider.ok) issues.push(...envProvider.issues);

  let contents: ConfigFileContents | undefined;
  const file = await readConfigFile(configPath);
  if (file.kind === 'unreadable') {
    issues.push(file.issue);
  } else {
    // No file reads as an empty one: no admin servers, every default.
    const result = validateConfigText(file.kind === 'text' ? file.text : '', options.env);
    if (result.ok) contents = result.value;
    else issues.push(...result.issues);
  }
  const fromEnv = envProvider.ok ? envProvider.value : undefined;
  if (fromEnv !== undefined && contents?.sso.some((p) => p.id === fromEnv.id) === true) {
    issues.push({
      path: 'OIDC_ISSUER',
      message: `auth.sso in the file already has a provider '${fromEnv.id}'`,
    });
  }

  if (!envResult.ok || contents === undefined || issues.length > 0) {
    throw new HubError('HUB_ERR_CONFIG_INVALID', {
      message: `Configuration is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'})`,
      details: { errors: issues },
    });
  }
  const sso = fromEnv === undefined ? contents.sso : [...contents.sso, fromEnv];
  return deepFreeze({ env: envResult.value, configPath, ...contents, sso });
}

/**
 * Checks one YAML file without starting anything, for `switchboard config check [file]`. Unlike
 * {@link loadConfig}, a file that does not exist is an issue here: the operator named it.
 * `${NAME}` references are resolved from `env`, so an unset variable is reported.
 */
export async function checkConfigFile(filePath: string, env: EnvSource): Promise<ConfigCheck> {
  const absolute = path.resolve(filePath);
  const file = await readConfigFile(absolute);
  if (file.kind === 'missing')
    return { ok: false, issues: [{ path: '', message: `file not found: ${absolute}` }], warnings: [] };
  if (file.kind === 'unreadable') return { ok: false, issues: [file.issue], warnings: [] };
  const result = validateConfigText(file.text, env);
  return result.ok
    ? { ok: true, issues: [], warnings: result.value.warnings }
    : { ok: false, issues: result.issues, warnings: [] };
}
