import { checkServerName } from '../config/index.js';

/** The one scope the hub's MCP resources know: "use the MCP endpoint as yourself". */
export const MCP_SCOPE = 'mcp';

/** What a resource indicator (RFC 8707) names on this hub. */
export type HubResource = { kind: 'all' } | { kind: 'server'; serverName: string };

const SERVER_PREFIX = '/mcp/servers/';

/** `PUBLIC_URL/mcp`: the aggregated endpoint, and the default resource of every authorization. */
export function mcpResource(publicUrl: string): string {
  return `${publicUrl}/mcp`;
}

/** `PUBLIC_URL/mcp/servers/<name>`: one server's endpoint. */
export function serverResource(publicUrl: string, serverName: string): string {
  return `${publicUrl}${SERVER_PREFIX}${serverName}`;
}

/**
 * The hub resource an indicator names, or null. Only exact spellings count (RFC 8707 §2: an
 * absolute URI without a fragment): no trailing slash, no query, a server name that follows the
 * naming rule, so one resource never has two spellings that a token could be bound to.
 */
export function parseResource(publicUrl: string, indicator: string): HubResource | null {
  if (indicator === mcpResource(publicUrl)) return { kind: 'all' };
  const prefix = `${publicUrl}${SERVER_PREFIX}`;
  if (!indicator.startsWith(prefix)) return null;
  const name = indicator.slice(prefix.length);
  return checkServerName(name).ok ? { kind: 'server', serverName: name } : null;
}

/**
 * Whether a token bound to `audience` may be used at the endpoint whose resource is `endpoint`:
 * the aggregated resource covers every server's endpoint (it already reaches all of them); a
 * server's resource covers that server only.
 */
export function audienceCovers(publicUrl: string, audience: string, endpoint: string): boolean {
  if (audience === endpoint) return true;
  return audience === mcpResource(publicUrl) && parseResource(publicUrl, endpoint)?.kind === 'server';
}

/** What the consent page says the client will reach, in plain words. */
export function describeResource(publicUrl: string, indicator: string): string {
  const parsed = parseResource(publicUrl, indicator);
  if (parsed === null) return 'an unknown resource';
  return parsed.kind === 'all'
    ? 'your tools on Switchboard (every MCP server you can use)'
    : `the MCP server “${parsed.serverName}” on Switchboard`;
}
