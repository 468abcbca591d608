import type { ConfigIssue } from '../config/index.js';

/**
 * Fields only the hub's administrator may set, refused in user input (AZ-10).
 * LibreChat's `MCPServerUserInputSchema` omits the same server-managed fields; `access` and
 * `idleTimeout` are Switchboard's own admin fields. `sharedOAuth` (one authorization used by every
 * caller) is refused rather than dropped, so nobody believes a shared authorization is in place.
 */
export const ADMIN_ONLY_FIELDS: readonly string[] = [
  'startup',
  'timeout',
  'initTimeout',
  'sseReadTimeout',
  'chatMenu',
  'serverInstructions',
  'requiresOAuth',
  'customUserVars',
  'oauth_headers',
  'access',
  'idleTimeout',
  'sharedOAuth',
  // LibreChat's keys for its replicas and its login; they tune or reach beyond the user's own server.
  'oauthRefreshWaitTimeout',
  'oauthRefreshCoordination',
  'oauthPersistenceWaitTimeout',
  'requestHeaders',
  'proxy',
  'obo',
];

/** Why some admin-only fields are refused, where "set by the administrator only" says too little. */
const ADMIN_ONLY_REASONS: Readonly<Record<string, string>> = {
  sharedOAuth:
    'is set by the administrator only, on servers in switchboard.yaml: on a user-created server each user authorizes with their own account',
  requestHeaders:
    "is set by the administrator only: it would copy other callers' request headers to this server",
  proxy: 'is set by the administrator only: it would choose where the hub sends its requests',
  obo: "is set by the administrator only: it would exchange the caller's login token for this server",
};

/** What the refusal of an admin-only field says, where "set by the administrator only" says too little. */
export function adminOnlyReason(field: string): string {
  return Object.hasOwn(ADMIN_ONLY_REASONS, field)
    ? (ADMIN_ONLY_REASONS[field] ?? 'is set by the administrator only')
    : 'is set by the administrator only';
}

/** The fields of a stdio entry: a user asking for any of them is asking to run a command on the hub. */
export const STDIO_FIELDS: readonly string[] = ['command', 'args', 'env', 'cwd', 'stderr'];

/**
 * OAuth settings only an administrator may choose: skipping the PKCE check weakens every flow, and
 * `audience` or dropping `resource` changes which tokens an authorization server issues (LibreChat
 * refuses the last three from user-managed servers too).
 */
export const ADMIN_ONLY_OAUTH_FIELDS: readonly string[] = [
  'skip_code_challenge_check',
  'audience',
  'forward_audience_on_refresh',
  'send_resource_parameter',
];

/**
 * Headers the transport or the hub manages. A user value would break framing (`Content-Length`),
 * steer the connection (`Host`, `Connection`) or impersonate another MCP session.
 */
const MANAGED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

/** RFC 9110 §5.1: a field name is a token (the schema checks header names the same way). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Bounds on user input: generous for real servers, small enough that no row or log line balloons. */
export const LIMITS = {
  title: 100,
  description: 2_000,
  url: 2_048,
  headers: 50,
  headerValue: 8_192,
} as const;

/** Unicode control and format characters (zero-width, bidi overrides): invisible in a title (IV-05). */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Collects issues under the `config.` prefix. */
export class IssueList {
  readonly issues: ConfigIssue[] = [];

  /** Adds an issue at `config.<path>`. */
  add(path: string, message: string): void {
    this.issues.push({ path: path === '' ? 'config' : `config.${path}`, message });
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }
}

/** Checks a title: the server's name is made from it, so it must be visible text. */
export function checkTitle(title: string | undefined, issues: IssueList): void {
  if (title === undefined || title.trim() === '') {
    issues.add('title', "is required: the server's name is made from it");
    return;
  }
  if (title.length > LIMITS.title) issues.add('title', `must be at most ${LIMITS.title} characters`);
  if (INVISIBLE.test(title)) issues.add('title', 'must not contain control or invisible characters');
}

/**
 * Checks a URL the hub will send requests to: parsed by WHATWG rules, no credentials in it (they
 * leak through logs) and no fragment (invalid in a resource URI): SS-17.
 */
export function checkRemoteUrl(path: string, url: string, issues: IssueList): void {
  if (url.length > LIMITS.url) {
    issues.add(path, `must be at most ${LIMITS.url} characters`);
    return;
  }
  if (!URL.canParse(url)) return; // the schema has already said so
  const parsed = new URL(url);
  if (parsed.username !== '' || parsed.password !== '') {
    issues.add(path, 'must not contain a user name or password');
  }
  // `hash` is '' for a bare trailing '#', which the serialised URL still carries.
  if (parsed.href.includes('#')) issues.add(path, 'must not contain a fragment (#…)');
}

/** An icon is an http(s) URL or a path on the hub's own origin; never `javascript:` or `data:`. */
export function checkIconPath(iconPath: string, issues: IssueList): void {
  if (iconPath.length > LIMITS.url || INVISIBLE.test(iconPath)) {
    issues.add('iconPath', 'must be an http(s) URL or a path starting with /');
    return;
  }
  const sameOrigin = iconPath.startsWith('/') && !iconPath.startsWith('//') && !iconPath.includes('\\');
  if (sameOrigin) return;
  if (!URL.canParse(iconPath)) {
    issues.add('iconPath', 'must be an http(s) URL or a path starting with /');
    return;
  }
  const parsed = new URL(iconPath);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    issues.add('iconPath', 'must be an http(s) URL or a path starting with /');
  } else if (parsed.username !== '' || parsed.password !== '') {
    issues.add('iconPath', 'must not contain a user name or password');
  }
}

/** Checks the user's headers beyond the schema: how many, which names, how long. */
export function checkHeaders(headers: Readonly<Record<string, string>>, issues: IssueList): void {
  const names = Object.keys(headers);
  if (names.length > LIMITS.headers) issues.add('headers', `must have at most ${LIMITS.headers} entries`);
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    if (seen.has(lower)) issues.add(`headers.${name}`, 'is given twice (header names ignore case)');
    seen.add(lower);
    if (MANAGED_HEADERS.has(lower)) issues.add(`headers.${name}`, 'is managed by the hub and cannot be set');
    if ((headers[name] ?? '').length > LIMITS.headerValue) {
      issues.add(`headers.${name}`, `must be at most ${LIMITS.headerValue} characters`);
    }
  }
}

/** The name an `apiKey` block with `authorization_type: custom` sends its key in. */
export function checkCustomHeader(name: string, issues: IssueList): void {
  if (!HEADER_NAME.test(name)) issues.add('apiKey.custom_header', 'is not a valid HTTP header name');
  else if (MANAGED_HEADERS.has(name.toLowerCase())) {
    issues.add('apiKey.custom_header', 'is managed by the hub and cannot be set');
  }
}

/** A secret that goes into a header: bounded, and no line breaks (header injection, IV-07). */
export function checkHeaderSecret(path: string, value: string, issues: IssueList): void {
  if (/[\r\n\0]/.test(value)) issues.add(path, 'must not contain line breaks or NUL characters');
  if (value.length > LIMITS.headerValue) issues.add(path, `must be at most ${LIMITS.headerValue} characters`);
}
