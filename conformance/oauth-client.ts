/**
 * The client under test of `npm run conformance`: an MCP client whose OAuth is the hub's
 * own module (`src/oauth`), wired from the hub's real parts — memory KV, a SQLite store, the
 * credentials keyring, the egress guard — with nothing of its own but the browser's part.
 *
 * The conformance runner calls `tsx conformance/oauth-client.ts <server URL>` with
 * `MCP_CONFORMANCE_SCENARIO` set, and for pre-registered clients `MCP_CONFORMANCE_CONTEXT` (JSON
 * with `client_id`, `client_secret`). It connects, lists the tools and calls each; a 401 (or a 403
 * `insufficient_scope`) starts an authorization through `oauth.initiate` with the challenge, the
 * authorization URL is fetched the way a browser would (the scenario AS answers 302 straight to the
 * redirect URI), `oauth.completeCallback` redeems the code, and the session starts over. The module
 * is given a client metadata URL, so an AS that supports Client ID Metadata Documents gets that URL
 * as the client id instead of a registration (`auth/basic-cimd`). Exit 0 when every tool call
 * answered; 1 when the module (or the server) made the client give up.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serverConfigSchema, type ServerConfig } from '../src/config/index.js';
import { systemClock, systemRandom } from '../src/core/index.js';
import { keyringFromCredentialsKey } from '../src/credentials/index.js';
import { isHubError } from '../src/errors/index.js';
import { createMemoryKv } from '../src/kv/index.js';
import { createEgressGuard, type FetchLike } from '../src/net/index.js';
import { createLogger } from '../src/observability/index.js';
import {
  challengeFromResponse,
  createOAuthService,
  type OAuthServerContext,
  type OAuthService,
  type ParsedChallenge,
} from '../src/oauth/index.js';
import { createDatabase, createRepositories, migrateToLatest } from '../src/store/index.js';

const USER_ID = 'conformance';
const SERVER_NAME = 'scenario';
// The hub's callback shape; nothing listens there: the redirect is read from `Location`, unfollowed.
const REDIRECT_URI = `http://127.0.0.1:3080/api/mcp/${SERVER_NAME}/oauth/callback`;
// The hub's Client ID Metadata Document URL as `auth/basic-cimd` expects it (the scenario's AS
// advertises `client_id_metadata_document_supported` and checks the `client_id` it is sent; it never
// fetches the document, so nothing serves it here). The other scenarios' ASes do not advertise CIMD,
// so there the module registers dynamically or uses the pre-registered client, as before.
const CLIENT_METADATA_URL = 'https://conformance-test.local/client-metadata.json';
// A bound on this harness's own loop, above the module's step-up cap (3 authorizations with the
// default `maxStepUps: 2`), so `auth/scope-retry-limit` measures the module, not this file.
const MAX_AUTHORIZATIONS = 6;

/** The last 401 or 403 the MCP server answered, with its `WWW-Authenticate` challenge. */
interface Rejection {
  status: 401 | 403;
  challenge: ParsedChallenge;
}

/**
 * The MCP transport's fetch, remembering the last 401 or 403 and its challenge: the SDK reports
 * those as a bare `StreamableHTTPError`, without the `WWW-Authenticate` header the module needs.
 */
function watchRejections(base: FetchLike): { fetch: FetchLike; take(): Rejection | undefined } {
  let last: Rejection | undefined;
  return {
    fetch: async (url, init) => {
      const response = await base(url, init);
      if (response.status === 401 || response.status === 403) {
        last = { status: response.status, challenge: challengeFromResponse(response) };
      }
      return response;
    },
    take: () => {
      const taken = last;
      last = undefined;
      return taken;
    },
  };
}

/** `MCP_CONFORMANCE_CONTEXT`: the pre-registered client of `auth/pre-registration` and the like. */
function preRegisteredClient(): Record<string, string> | undefined {
  const raw = process.env.MCP_CONFORMANCE_CONTEXT;
  if (raw === undefined || raw === '') return undefined;
  const context: unknown = JSON.parse(raw);
  if (typeof context !== 'object' || context === null) return undefined;
  const pick = (key: string): Record<string, string> => {
    const value: unknown = (context as Record<string, unknown>)[key]; // checked: a non-null object
    return typeof value === 'string' ? { [key]: value } : {};
  };
  const client = { ...pick('client_id'), ...pick('client_secret') };
  return client.client_id === undefined ? undefined : client;
}

/** The server entry an admin would write for this server (validated by the hub's own schema). */
function serverConfig(serverUrl: string): ServerConfig {
  const client = preRegisteredClient();
  return serverConfigSchema.parse({
    type: 'streamable-http',
    url: serverUrl,
    ...(client === undefined ? {} : { oauth: client }),
  });
}

/**
 * The browser's part: open the authorization URL and land on the redirect URI. The hub never
 * fetches this URL itself (the user's browser does), so it goes out with plain `fetch`.
 */
async function visitAuthorizationUrl(authorizationUrl: string): Promise<URLSearchParams> {
  const response = await fetch(authorizationUrl, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  await response.body?.cancel();
  const location = response.headers.get('location');
  if (response.status < 300 || response.status > 399 || location === null) {
    throw new Error(`the authorization endpoint answered ${response.status} without a redirect`);
  }
  const landing = new URL(location, authorizationUrl);
  if (`${landing.origin}${landing.pathname}` !== REDIRECT_URI) {
    throw new Error('the authorization endpoint redirected somewhere other than the redirect URI');
  }
  return landing.searchParams;
}

/** One authorization through the module: initiate, the browser's visit, the callback. */
async function authorize(oauth: OAuthService, ctx: OAuthServerContext, challenge: ParsedChallenge) {
  const flow = await oauth.initiate({
    ...ctx,
    challenge: { resourceMetadataUrl: challenge.resourceMetadataUrl, scope: challenge.scope },
  });
  const query = await visitAuthorizationUrl(flow.authorizationUrl);
  const param = (name: string): string | undefined => query.get(name) ?? undefined;
  const result = await oauth.completeCallback({
    serverName: SERVER_NAME,
    code: param('code'),
    state: param('state'),
    error: param('error'),
    iss: param('iss'),
    // The callback arrives in the browser that started the flow: the binding holds by construction.
    isBound: () => true,
  });
  if (!result.ok) throw new Error(`the OAuth callback failed: ${result.error}`);
}

/** One MCP session: connect, list the tools, call each. */
async function useServer(serverUrl: string, fetch: FetchLike): Promise<string[]> {
  const client = new Client({ name: 'switchboard-conformance', version: '0.1.0' });
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), { fetch });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    for (const tool of tools) await client.callTool({ name: tool.name, arguments: {} });
    return tools.map((tool) => tool.name);
  } finally {
    await client.close();
  }
}

/** Why the client stopped, in the module's words when it was the module (a `HubError` code). */
function describe(error: unknown): string {
  if (isHubError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function main(): Promise<number> {
  const serverUrl = process.argv.at(-1);
  if (serverUrl === undefined || !/^https?:\/\//.test(serverUrl)) {
    process.stderr.write('usage: oauth-client.ts <MCP server URL>\n');
    return 2;
  }
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '(none)';
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-conformance-'));
  const store = await createDatabase({ sqlitePath: path.join(dataDir, 'hub.db') });
  const kv = createMemoryKv({ clock: systemClock });
  // The scenario servers are on loopback, which the guard refuses unless allowlisted, as an admin would.
  const egress = createEgressGuard({ allowedDomains: ['127.0.0.1', 'localhost'] });
  try {
    await migrateToLatest(store.db);
    const repos = createRepositories({ db: store.db, clock: systemClock });
    const oauth = createOAuthService({
      kv,
      credentials: repos.credentials,
      keyring: keyringFromCredentialsKey(randomBytes(32)),
      // As the hub wires it (src/bootstrap/hub.ts): small, quick OAuth answers.
      fetch: egress.withLimits({ maxResponseBytes: 256 * 1024, timeoutMs: 10_000 }),
      clock: systemClock,
      random: systemRandom,
      logger,
      redirectUri: () => REDIRECT_URI,
      secret: randomBytes(32),
      clientMetadataUrl: CLIENT_METADATA_URL,
    });
    const ctx: OAuthServerContext = {
      userId: USER_ID,
      serverName: SERVER_NAME,
      serverUrl,
      config: serverConfig(serverUrl),
    };

    const authorized = oauth.authorizedFetch(egress.withLimits({ streaming: true, timeoutMs: 15_000 }), ctx);
    const watched = watchRejections(authorized);

    for (let authorizations = 0; ;) {
      watched.take();
      try {
        const tools = await useServer(serverUrl, watched.fetch);
        process.stdout.write(`${scenario}: called ${tools.length} tool(s): ${tools.join(', ')}\n`);
        return 0;
      } catch (error) {
        const answered = watched.take();
        const wasRejection = error instanceof StreamableHTTPError && error.code === answered?.status;
        const askedForAuth =
          answered !== undefined &&
          (answered.status === 401 || answered.challenge.error === 'insufficient_scope');
        if (!wasRejection || !askedForAuth) throw error;
        if (authorizations >= MAX_AUTHORIZATIONS) {
          throw new Error(`still ${answered.status} after ${authorizations} authorizations`, {
            cause: error,
          });
        }
        authorizations += 1;
        const { error: reason, scope } = answered.challenge;
        process.stdout.write(
          `${scenario}: ${answered.status} ${reason ?? ''} scope=${scope ?? '-'}; asking to authorize (attempt ${authorizations})\n`,
        );
        await authorize(oauth, ctx, answered.challenge);
      }
    }
  } finally {
    await egress.close();
    await kv.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${process.env.MCP_CONFORMANCE_SCENARIO ?? 'client'}: gave up: ${describe(error)}\n`,
    );
    process.exit(1);
  },
);
