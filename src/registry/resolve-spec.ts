import { createHash } from 'node:crypto';
import type { McpSettings, ServerConfig } from '../config/index.js';
import type { ConnectionOptions, UpstreamSpec } from '../connections/index.js';
import { substitute, type PlaceholderContext } from './placeholders.js';
import { API_KEY_VAR } from './server-view.js';

let resolutions = 0;
const countResolution = (): void => {
  resolutions += 1;
};

/** Specs resolved since the process started (a test seam: a warm call resolves none). */
export function resolutionCount(): number {
  return resolutions;
}

/** What the connection pool needs to open one server for one caller. */
export interface ResolvedServer {
  spec: UpstreamSpec;
  options: ConnectionOptions;
  /** A hash of the resolved spec: a changed user value means a new connection. Never log the spec. */
  fingerprint: string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Total bound of one call that progress does not extend, unless the server or `mcpSettings` says otherwise. */
export const DEFAULT_MAX_CALL_DURATION_MS = 10 * 60 * 1000;

function mapValues(
  record: Readonly<Record<string, string>> | undefined,
  fn: (v: string) => string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, fn(v)]));
}

/** The header an `apiKey` block adds, with the admin's key or the user's `MCP_API_KEY`. */
function apiKeyHeader(server: ServerConfig, ctx: PlaceholderContext): Record<string, string> {
  const apiKey = server.apiKey;
  if (!apiKey) return {};
  const key = apiKey.source === 'admin' ? apiKey.key : ctx.userVars[API_KEY_VAR];
  if (!key) return {};
  switch (apiKey.authorization_type) {
    case 'bearer':
      return { Authorization: `Bearer ${key}` };
    case 'basic':
      return { Authorization: `Basic ${key}` };
    case 'custom':
      return { [apiKey.custom_header ?? 'X-Api-Key']: key };
  }
}

/**
 * Turns a server config into a concrete upstream spec for one caller: placeholders filled, timeouts
 * chosen (server value, then `mcpSettings`, then defaults). Every call computes it anew; the hub
 * calls {@link resolveServer}, which reuses an earlier answer.
 */
export function resolveServerOnce(
  server: ServerConfig,
  ctx: PlaceholderContext,
  settings: McpSettings,
): ResolvedServer {
  let spec: UpstreamSpec;
  switch (server.type) {
    case 'stdio':
      spec = {
        transport: 'stdio',
        command: substitute(server.command, ctx, 'plain'),
        args: server.args.map((a) => substitute(a, ctx, 'plain')),
        env: mapValues(server.env, (v) => substitute(v, ctx, 'plain')),
        ...(server.cwd ? { cwd: server.cwd } : {}),
      };
      break;
    case 'sse':
    case 'streamable-http':
      spec = {
        transport: server.type,
        url: substitute(server.url, ctx, 'url'),
        headers: {
          ...mapValues(server.headers, (v) => substitute(v, ctx, 'header')),
          ...apiKeyHeader(server, ctx),
        },
      };
      break;
    case 'websocket':
      spec = { transport: 'websocket', url: substitute(server.url, ctx, 'url') };
      break;
  }
  const options: ConnectionOptions = {
    initTimeoutMs: server.initTimeout ?? settings.initTimeout,
    requestTimeoutMs: server.timeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
    maxCallDurationMs: server.maxCallDuration ?? settings.maxCallDuration ?? DEFAULT_MAX_CALL_DURATION_MS,
    idleTimeoutMs: server.idleTimeout ?? settings.idleTimeout,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22);
  countResolution();
  return { spec, options, fingerprint };
}
