import path from 'node:path';
import type { EnvSource } from './env-expansion.js';
import type { ConfigIssue, ConfigResult } from './issues.js';
import { redisSettingsFrom, type RedisSettings } from './redis-settings.js';

/** The issuer name of HS256 tokens from the application sharing `JWT_SECRET` (the auth module uses the same). */
const SHARED_SECRET_ISSUER = 'jwt-secret';

/** pino's level names. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino log level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Settings taken from environment variables (the README lists them). Secrets are here too (`jwtSecret`,
 * `credentialsKey`, passwords inside `databaseUrl` / `redisUrl`): never log this object whole.
 */
export interface EnvSettings extends RedisSettings {
  /** `PORT`; 0 lets the OS choose (tests). */
  port: number;
  /** `HOST`: the address to listen on. */
  host: string;
  /** `PUBLIC_URL`: how browsers reach the hub (OAuth redirect URIs); no trailing slash, path prefix kept. */
  publicUrl: string;
  /** `DATA_DIR`, absolute: the SQLite file and generated secrets live here. */
  dataDir: string;
  /** `DATABASE_URL` (postgres://…); unset means SQLite under `dataDir`. */
  databaseUrl: string | undefined;
  /**
   * `REDIS_URL` (redis:// or rediss://) alone. Whether state is shared (Sentinel and Cluster too)
   * and where: `redis` (see {@link RedisSettings}).
   */
  redisUrl: string | undefined;
  /** `JWT_SECRET` for HS256 tokens; unset means the embedded mode generates one into `dataDir`. */
  jwtSecret: string | undefined;
  /** `CREDENTIALS_KEY`: 32 bytes as 64 hex characters; unset means generated into `dataDir`. */
  credentialsKey: string | undefined;
  /** `LOG_LEVEL`. */
  logLevel: LogLevel;
  /** `NODE_ENV`, as given. */
  nodeEnv: string;
  /** `SWITCHBOARD_CONFIG`, absolute. */
  configPath: string;
  /** `AUTH_JWKS_URL`: accept tokens signed by this OIDC issuer's keys as well. */
  authJwksUrl: string | undefined;
  /** `AUTH_ISSUER`: the `iss` such tokens must carry. */
  authIssuer: string | undefined;
  /** `AUTH_AUDIENCE`: the `aud` such tokens must carry. */
  authAudience: string | undefined;
  /**
   * `AUTH_EMAIL_LINK_ISSUERS`: issuers (`jwt-secret` for HS256 tokens from the application sharing
   * `JWT_SECRET`, or the `AUTH_ISSUER` value) whose tokens, when they say `email_verified: true`,
   * sign in to the local account with that email. Empty (the default): every external identity
   * gets an account of its own.
   */
  authEmailLinkIssuers: readonly string[];
  /** `BODY_LIMIT`: largest request body, bytes. */
  bodyLimit: number;
  /** `TRUST_PROXY`: believe `X-Forwarded-*` headers (only behind a proxy that sets them). */
  trustProxy: boolean;
  /**
   * `OAUTH_CLIENT_METADATA_URL`: an https URL whose document is the hub's OAuth client id for
   * authorization servers that support Client ID Metadata Documents; served by the hub when it lies
   * under PUBLIC_URL. Unset: dynamic registration only.
   */
  oauthClientMetadataUrl: string | undefined;
  /**
   * `HTTP_HEADERS_TIMEOUT_MS`, `HTTP_REQUEST_TIMEOUT_MS`, `HTTP_KEEP_ALIVE_TIMEOUT_MS`,
   * `HTTP_MAX_CONNECTIONS`: the HTTP server's limits on slow and idle clients. Only the variables
   * given are here; the HTTP layer holds the defaults.
   */
  httpLimits: HttpLimitSettings;
}

/** The HTTP server's slow-client limits as the environment sets them; an absent key keeps its default. */
export interface HttpLimitSettings {
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
}

const DEFAULT_PORT = 3080;
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** RFC 7518 §3.2: an HS256 key should be at least as long as the hash output, 256 bits. */
const MIN_JWT_SECRET_LENGTH = 32;
/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer socket timeout is silently
 * replaced by 1 ms, which would close every connection at once.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

const TIMEOUT_RULE = {
  max: MAX_TIMER_MS,
  message: `must be a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
};

/** Each HTTP limit variable, the setting it fills, and its largest value with the message saying so. */
const HTTP_LIMIT_VARIABLES = [
  ['HTTP_HEADERS_TIMEOUT_MS', 'headersTimeoutMs', TIMEOUT_RULE],
  ['HTTP_REQUEST_TIMEOUT_MS', 'requestTimeoutMs', TIMEOUT_RULE],
  ['HTTP_KEEP_ALIVE_TIMEOUT_MS', 'keepAliveTimeoutMs', TIMEOUT_RULE],
  [
    'HTTP_MAX_CONNECTIONS',
    'maxConnections',
    { max: Number.MAX_SAFE_INTEGER, message: 'must be a whole number, at least 1' },
  ],
] as const;

/** Reads one variable; empty or blank counts as unset, as `FOO=` in a compose file means "no value". */
function read(env: EnvSource, name: string): string | undefined {
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  return value === undefined || value.trim() === '' ? undefined : value;
}

function parseWholeNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isSafeInteger(value) ? value : undefined;
}

function urlWithScheme(text: string, schemes: readonly string[]): URL | undefined {
  const trimmed = text.trim();
  if (!URL.canParse(trimmed)) return undefined;
  const url = new URL(trimmed);
  return schemes.includes(url.protocol) ? url : undefined;
}

/** How `HOST` appears in a URL: wildcard addresses are not reachable, and IPv6 needs brackets. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/** Validates `PUBLIC_URL`: http(s), no credentials, query or fragment; trailing slashes dropped. */
function normalisePublicUrl(text: string): string | undefined {
  const url = urlWithScheme(text, ['http:', 'https:']);
  if (
    url === undefined ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    return undefined;
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** `SWITCHBOARD_CONFIG` resolved against `cwd`, defaulting to `./switchboard.yaml`. */
export function configPathFrom(env: EnvSource, cwd: string): string {
  return path.resolve(cwd, read(env, 'SWITCHBOARD_CONFIG') ?? './switchboard.yaml');
}

/**
 * Reads and validates the hub's environment variables. Every bad value is reported, each named by its
 * variable; relative paths are resolved against `cwd`.
 */
export function loadEnvSettings(env: EnvSource, cwd: string): ConfigResult<EnvSettings> {
  const issues: ConfigIssue[] = [];
  const problem = (name: string, message: string): void => {
    issues.push({ path: name, message });
  };

  const portText = read(env, 'PORT');
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    const parsed = parseWholeNumber(portText);
    if (parsed === undefined || parsed > 65535) problem('PORT', 'must be a whole number from 0 to 65535');
    else port = parsed;
  }

  const host = read(env, 'HOST')?.trim() ?? DEFAULT_HOST;
  if (/\s/.test(host)) problem('HOST', 'must be a host name or address with no spaces');

  const publicUrlText = read(env, 'PUBLIC_URL');
  let publicUrl = `http://${hostForUrl(host)}:${port}`;
  if (publicUrlText !== undefined) {
    const normalised = normalisePublicUrl(publicUrlText);
    if (normalised === undefined) {
      problem('PUBLIC_URL', 'must be an http:// or https:// URL with no credentials, query or fragment');
    } else {
      publicUrl = normalised;
    }
  }

  const databaseUrl = read(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && urlWithScheme(databaseUrl, ['postgres:', 'postgresql:']) === undefined) {
    problem('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (leave unset for SQLite)');
  }

  const redisSettings = redisSettingsFrom(env, read, problem);
  const redisUrl = redisSettings.redis?.kind === 'standalone' ? redisSettings.redis.url : undefined;

  const jwtSecret = read(env, 'JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < MIN_JWT_SECRET_LENGTH) {
    problem('JWT_SECRET', `must be at least ${MIN_JWT_SECRET_LENGTH} characters`);
  }

  const credentialsKey = read(env, 'CREDENTIALS_KEY');
  if (credentialsKey !== undefined && !/^[0-9a-fA-F]{64}$/.test(credentialsKey)) {
    problem('CREDENTIALS_KEY', 'must be 32 bytes written as 64 hexadecimal characters');
  }

  const logLevelText = read(env, 'LOG_LEVEL')?.trim().toLowerCase() ?? 'info';
  const logLevel = LOG_LEVELS.find((level) => level === logLevelText);
  if (logLevel === undefined) problem('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);

  const authJwksUrl = read(env, 'AUTH_JWKS_URL');
  if (authJwksUrl !== undefined && urlWithScheme(authJwksUrl, ['http:', 'https:']) === undefined) {
    problem('AUTH_JWKS_URL', 'must be an http:// or https:// URL');
  }
  const authIssuer = read(env, 'AUTH_ISSUER');
  // Keys from a shared JWKS sign tokens for many parties; without an issuer check any of them would pass.
  if (authJwksUrl !== undefined && authIssuer === undefined) {
    problem('AUTH_ISSUER', 'is required when AUTH_JWKS_URL is set');
  }

  // 'jwt-secret' names the shared-secret issuer's accounts; an external issuer of that name would share them.
  if (authIssuer === SHARED_SECRET_ISSUER) problem('AUTH_ISSUER', `must not be '${SHARED_SECRET_ISSUER}'`);
  const authEmailLinkIssuers = emailLinkIssuers(read(env, 'AUTH_EMAIL_LINK_ISSUERS'), authIssuer, problem);

  const bodyLimitText = read(env, 'BODY_LIMIT');
  let bodyLimit = DEFAULT_BODY_LIMIT;
  if (bodyLimitText !== undefined) {
    const parsed = parseWholeNumber(bodyLimitText);
    if (parsed === undefined || parsed < 1)
      problem('BODY_LIMIT', 'must be a whole number of bytes, at least 1');
    else bodyLimit = parsed;
  }

  const trustProxyText = read(env, 'TRUST_PROXY')?.trim().toLowerCase();
  let trustProxy = false;
  if (trustProxyText !== undefined) {
    if (['true', '1', 'yes'].includes(trustProxyText)) trustProxy = true;
    else if (!['false', '0', 'no'].includes(trustProxyText)) problem('TRUST_PROXY', 'must be true or false');
  }

  // Its rules (https, a path, one canonical spelling) are the OAuth module's; it checks at start.
  const oauthClientMetadataUrl = read(env, 'OAUTH_CLIENT_METADATA_URL');

  const httpLimits = httpLimitsFrom(env, problem);

  if (issues.length > 0 || logLevel === undefined) return { ok: false, issues };
  return {
    ok: true,
    value: {
      port,
      host,
      publicUrl,
      dataDir: path.resolve(cwd, read(env, 'DATA_DIR') ?? './data'),
      databaseUrl,
      redisUrl,
      ...redisSettings,
      jwtSecret,
      credentialsKey,
      logLevel,
      nodeEnv: read(env, 'NODE_ENV') ?? 'development',
      configPath: configPathFrom(env, cwd),
      authJwksUrl,
      authIssuer,
      authAudience: read(env, 'AUTH_AUDIENCE'),
      authEmailLinkIssuers,
      bodyLimit,
      trustProxy,
      oauthClientMetadataUrl,
      httpLimits,
    },
  };
}

/** The HTTP limit variables that are set, each a whole number from 1 up to its largest value. */
function httpLimitsFrom(env: EnvSource, problem: (name: string, message: string) => void): HttpLimitSettings {
  const limits: HttpLimitSettings = {};
  for (const [name, key, rule] of HTTP_LIMIT_VARIABLES) {
    const text = read(env, name);
    if (text === undefined) continue;
    const parsed = parseWholeNumber(text);
    if (parsed === undefined || parsed < 1 || parsed > rule.max) {
      problem(name, rule.message);
    } else {
      limits[key] = parsed;
    }
  }
  // Node refuses a headers timeout longer than the whole request's; say so rather than shorten it.
  const { headersTimeoutMs, requestTimeoutMs } = limits;
  if (
    headersTimeoutMs !== undefined &&
    requestTimeoutMs !== undefined &&
    headersTimeoutMs > requestTimeoutMs
  ) {
    problem('HTTP_HEADERS_TIMEOUT_MS', 'must not be longer than HTTP_REQUEST_TIMEOUT_MS');
  }
  return limits;
}

/**
 * `AUTH_EMAIL_LINK_ISSUERS` as a list. Each name must be `jwt-secret` or the `AUTH_ISSUER` value: a
 * name that matches no issuer would silently link nothing, so it is reported instead.
 */
function emailLinkIssuers(
  text: string | undefined,
  authIssuer: string | undefined,
  problem: (name: string, message: string) => void,
): string[] {
  const issuers = (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const item of issuers) {
    if (item !== SHARED_SECRET_ISSUER && item !== authIssuer) {
      problem(
        'AUTH_EMAIL_LINK_ISSUERS',
        `'${item}' is neither '${SHARED_SECRET_ISSUER}' nor the AUTH_ISSUER value`,
      );
    }
  }
  return issuers;
}
