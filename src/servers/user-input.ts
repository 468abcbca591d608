import {
  type ConfigIssue,
  type SseServerConfig,
  type StreamableHttpServerConfig,
  findEnvReferences,
  validateServerConfig,
} from '../config/index.js';
import { hasIdentityPlaceholder, removeIdentityPlaceholders } from '../registry/index.js';
import {
  ADMIN_ONLY_FIELDS,
  ADMIN_ONLY_OAUTH_FIELDS,
  IssueList,
  adminOnlyReason,
  LIMITS,
  STDIO_FIELDS,
  checkCustomHeader,
  checkHeaderSecret,
  checkHeaders,
  checkIconPath,
  checkRemoteUrl,
  checkTitle,
} from './user-input-rules.js';

/** A server config a user may create: a remote server, with only the fields users may set. */
export type UserServerConfig = SseServerConfig | StreamableHttpServerConfig;

/** The checked config, or every issue found (paths start with `config`). */
export type UserInputResult = { ok: true; value: UserServerConfig } | { ok: false; issues: ConfigIssue[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWebSocketUrl(value: unknown): boolean {
  return typeof value === 'string' && /^wss?:/i.test(value.trim());
}

/**
 * The refusals that come before the schema: env references (IV-08: refused, not stored), stdio and
 * websocket servers, and admin-only fields (AZ-10). Each names its field.
 */
function checkShape(input: Record<string, unknown>, issues: IssueList): void {
  for (const issue of findEnvReferences(input, ['config'])) issues.issues.push(issue);
  for (const field of ADMIN_ONLY_FIELDS) {
    if (Object.hasOwn(input, field)) issues.add(field, adminOnlyReason(field));
  }
  for (const field of STDIO_FIELDS) {
    if (Object.hasOwn(input, field)) {
      issues.add(field, 'stdio servers are defined by the administrator only (in switchboard.yaml)');
    }
  }
  const type = input.type;
  const stdio = STDIO_FIELDS.some((field) => Object.hasOwn(input, field));
  if (type === undefined && input.url === undefined && !stdio) {
    issues.add('url', 'is required: the http:// or https:// address of the MCP server');
  } else if (type === 'stdio') {
    issues.add('type', 'stdio servers are defined by the administrator only (in switchboard.yaml)');
  } else if (type === 'websocket' || (type === undefined && isWebSocketUrl(input.url))) {
    issues.add(
      type === undefined ? 'url' : 'type',
      "only 'sse' and 'streamable-http' servers can be added; use an http:// or https:// URL",
    );
  } else if (type !== undefined && type !== 'sse' && type !== 'streamable-http' && type !== 'http') {
    issues.add('type', "must be 'sse', 'streamable-http' or 'http'");
  }
  const oauth = input.oauth;
  if (isPlainObject(oauth)) {
    for (const field of ADMIN_ONLY_OAUTH_FIELDS) {
      if (Object.hasOwn(oauth, field)) issues.add(`oauth.${field}`, 'is set by the administrator only');
    }
  }
  // Objects that never reach the schema's record checks as own keys would be lost silently.
  const headers = input.headers;
  if (isPlainObject(headers) && Object.hasOwn(headers, '__proto__')) {
    issues.add('headers.__proto__', 'is not a valid HTTP header name');
  }
}

/** Checks on the parsed value that the schema does not make (it is shared with the admin's YAML). */
function checkValue(config: UserServerConfig, issues: IssueList): void {
  checkTitle(config.title, issues);
  if ((config.description ?? '').length > LIMITS.description) {
    issues.add('description', `must be at most ${LIMITS.description} characters`);
  }
  checkRemoteUrl('url', config.url, issues);
  // A shared server would learn every caller's id or e-mail address through the URL (IV-08).
  if (hasIdentityPlaceholder(config.url)) {
    issues.add('url', 'identity placeholders such as {{LIBRECHAT_USER_ID}} are not available here');
  }
  if (config.iconPath !== undefined) checkIconPath(config.iconPath, issues);
  if (config.headers) checkHeaders(config.headers, issues);
  const oauth = config.oauth;
  if (oauth) {
    for (const field of ['authorization_url', 'token_url', 'revocation_endpoint'] as const) {
      const url = oauth[field];
      if (url !== undefined) checkRemoteUrl(`oauth.${field}`, url, issues);
    }
    if (oauth.client_secret !== undefined) {
      checkHeaderSecret('oauth.client_secret', oauth.client_secret, issues);
    }
  }
  const apiKey = config.apiKey;
  if (apiKey) {
    if (apiKey.source === 'user' && apiKey.key !== undefined) {
      issues.add('apiKey.key', "must not be given when source is 'user': each user sets their own key");
    }
    if (apiKey.source === 'admin' && (apiKey.key ?? '') === '') {
      issues.add('apiKey.key', "is required when source is 'admin'");
    }
    if (apiKey.key !== undefined) checkHeaderSecret('apiKey.key', apiKey.key, issues);
    if (apiKey.authorization_type === 'custom' && apiKey.custom_header !== undefined) {
      checkCustomHeader(apiKey.custom_header, issues);
    }
  }
}

/**
 * What is stored of a valid config: identity placeholders removed from header values (a shared
 * server must not learn its callers' identities) and `oauth.redirect_uri` dropped, since the hub's
 * own callback is the only redirect it uses (OA-14). Idempotent.
 */
function normalise(config: UserServerConfig): UserServerConfig {
  const out: UserServerConfig = { ...config };
  if (config.headers) {
    out.headers = Object.fromEntries(
      Object.entries(config.headers).map(([name, value]) => [name, removeIdentityPlaceholders(value)]),
    );
  }
  if (config.oauth?.redirect_uri !== undefined) {
    const { redirect_uri: _dropped, ...oauth } = config.oauth;
    out.oauth = oauth;
  }
  return out;
}

/**
 * Validates a server config sent by a user (POST and PATCH of `/api/mcp/servers`): LibreChat's
 * `mcpServers` format restricted to what users may set. Nothing is ever expanded against the
 * environment, and no message quotes a value (it may be a secret). Also used on every read of a
 * stored server, so a row changed outside the API cannot widen what it does.
 */
export function parseUserServerInput(input: unknown): UserInputResult {
  const issues = new IssueList();
  if (!isPlainObject(input)) {
    issues.add('', input === undefined ? 'is required' : 'must be an object');
    return { ok: false, issues: issues.issues };
  }
  checkShape(input, issues);
  if (!issues.empty) return { ok: false, issues: issues.issues };

  const parsed = validateServerConfig(input, ['config']);
  if (!parsed.ok) return parsed;
  const config = parsed.value;
  // checkShape refused the other transports; this narrows the type.
  if (config.type !== 'sse' && config.type !== 'streamable-http') {
    issues.add('type', "must be 'sse', 'streamable-http' or 'http'");
    return { ok: false, issues: issues.issues };
  }
  checkValue(config, issues);
  if (!issues.empty) return { ok: false, issues: issues.issues };
  return { ok: true, value: normalise(config) };
}
