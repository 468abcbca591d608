import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordSecret, type SecretKind } from './run-record.js';

/**
 * Records the secrets that cross a test hub's HTTP edge, for the run-wide SE-05 log scan: bearer
 * tokens and cookies clients send, secrets in request bodies (passwords, custom user variables,
 * API keys, client secrets, codes and verifiers at the token endpoint), and what the hub hands
 * out (session cookies, CSRF tokens, tokens, codes and states in redirects, link tickets).
 * One choke point for every test hub, instead of each test listing what it minted.
 */
export function recordHubSecrets(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => recordRequestHeaders(request));
  app.addHook('preValidation', async (request) => recordBody(request.body));
  app.addHook('onSend', async (_request, reply, payload) => {
    recordReply(reply, payload);
    return payload;
  });
}

const LINK_TICKET = /\/oauth\/link\/([\w-]+)/g;

function recordRequestHeaders(request: FastifyRequest): void {
  const { authorization, cookie } = request.headers;
  if (typeof authorization === 'string') {
    recordSecret('authorization-header', authorization.replace(/^\S+\s+/, ''));
  }
  if (typeof cookie === 'string') recordCookieValues(cookie.split(';'));
  recordSecret('csrf-token', request.headers['x-csrf-token']);
  recordLinkTickets(request.url);
}

/** Body fields that hold secrets, by name, wherever they sit in a JSON or form body. */
const SECRET_FIELDS: Readonly<Record<string, SecretKind>> = {
  password: 'password',
  client_secret: 'client-secret',
  code: 'oauth-code',
  code_verifier: 'code-verifier',
  refresh_token: 'hub-issued-token',
  access_token: 'hub-issued-token',
  token: 'hub-issued-token',
  key: 'api-key',
};

/** Fields whose every string value is a secret: custom user variables, headers and env. */
const SECRET_MAPS: Readonly<Record<string, SecretKind>> = {
  values: 'user-variable',
  auth: 'user-variable',
  headers: 'server-header-or-env',
  oauth_headers: 'server-header-or-env',
  env: 'server-header-or-env',
};

function recordBody(body: unknown, depth = 0): void {
  if (typeof body !== 'object' || body === null || depth > 4) return;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    const fieldKind = SECRET_FIELDS[name];
    const mapKind = SECRET_MAPS[name];
    if (fieldKind !== undefined) recordSecret(fieldKind, value);
    if (mapKind !== undefined && typeof value === 'object' && value !== null) {
      for (const item of Object.values(value)) recordLiteral(mapKind, item);
    }
    recordBody(value, depth + 1);
  }
}

/** A header or env value like `Bearer {{API_KEY}}` is a template, not a secret: skip those. */
function recordLiteral(kind: SecretKind, value: unknown): void {
  if (typeof value === 'string' && !/\{\{|\$\{/.test(value)) recordSecret(kind, value);
}

/** JSON answer fields the hub mints secrets in. */
const ANSWER_FIELDS: Readonly<Record<string, SecretKind>> = {
  access_token: 'hub-issued-token',
  refresh_token: 'hub-issued-token',
  id_token: 'hub-issued-token',
  token: 'hub-issued-token',
  client_secret: 'client-secret',
  registration_access_token: 'hub-issued-token',
  csrfToken: 'csrf-token',
};

/** Larger answers (tool results, pages) are not parsed: secrets come in small JSON bodies. */
const MAX_PARSED_ANSWER = 64 * 1024;

function recordReply(reply: FastifyReply, payload: unknown): void {
  const setCookie = reply.getHeader('set-cookie');
  const cookies = Array.isArray(setCookie) ? setCookie : [setCookie];
  recordCookieValues(
    cookies.filter((c): c is string => typeof c === 'string').map((c) => c.split(';')[0] ?? ''),
  );
  const location = reply.getHeader('location');
  if (typeof location === 'string') recordRedirect(location);
  const text =
    typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
  if (text.length === 0 || text.length > MAX_PARSED_ANSWER) return;
  recordLinkTickets(text);
  if (String(reply.getHeader('content-type')).includes('json')) recordAnswer(text);
}

function recordAnswer(text: string): void {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof answer !== 'object' || answer === null) return;
  for (const [name, value] of Object.entries(answer)) {
    const kind = ANSWER_FIELDS[name];
    if (kind !== undefined) recordSecret(kind, value);
  }
}

/**
 * oidc-provider's interaction and resume cookies (the hub's authorization server names them
 * sb_as_interaction and sb_as_resume) hold the interaction's id, which is also the path of its page
 * (`/oauth2/interaction/:uid`, logged like any path); their signatures (`.sig`) are the secret.
 */
const PUBLIC_COOKIES = /^(sb_as_interaction|sb_as_resume|_interaction|_interaction_resume)$/;

/** `name=value` pairs: the value is the secret (a session token, a flow binding). */
function recordCookieValues(pairs: string[]): void {
  for (const pair of pairs) {
    const split = pair.indexOf('=');
    if (PUBLIC_COOKIES.test(pair.slice(0, split).trim())) continue;
    const value = pair.slice(split + 1).trim();
    recordSecret('session-cookie', value);
    recordSecret('session-cookie', safeDecode(value));
  }
}

/** A redirect carries codes and states in its query (to a client, or to an upstream AS). */
function recordRedirect(location: string): void {
  let url: URL;
  try {
    url = new URL(location, 'http://hub.invalid');
  } catch {
    return;
  }
  recordSecret('oauth-code', url.searchParams.get('code'));
  recordSecret('oauth-state', url.searchParams.get('state'));
  recordLinkTickets(url.pathname);
}

function recordLinkTickets(text: string): void {
  for (const match of text.matchAll(LINK_TICKET)) recordSecret('link-ticket', match[1]);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
