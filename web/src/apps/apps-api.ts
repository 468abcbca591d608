/** The Connected apps screen's calls to the hub's public API. */
import { call } from '../api.ts';

/**
 * One MCP client the user authorized at the hub's authorization server, as
 * `GET /api/auth/clients` lists it. The name and hosts are the client's own claims: text only.
 */
export interface ConnectedApp {
  clientId: string;
  clientName: string | null;
  /** Hosts of the client's redirect URIs: where its sign-in codes go. */
  redirectHosts: string[];
  /** Resource indicator (an MCP URL of this hub) → granted scopes, space-separated. */
  resources: Record<string, string>;
  /** ISO 8601 time of the first approval still in force. */
  authorizedAt: string;
}

/** The query key of the connected apps list. */
export const APPS_KEY = ['connected-apps'] as const;

/** The MCP clients the signed-in user authorized, oldest first. */
export async function getConnectedApps(): Promise<ConnectedApp[]> {
  return (await call<{ clients: ConnectedApp[] }>('/api/auth/clients')).clients;
}

/** Ends every grant and token this user gave the client (other users' grants stay). */
export async function revokeApp(clientId: string, csrfToken: string): Promise<void> {
  await call<{ revoked: true }>(`/api/auth/clients/${encodeURIComponent(clientId)}`, {
    method: 'DELETE',
    csrfToken,
  });
}

/**
 * The canonical URL of an MCP endpoint: the `resource` of its RFC 9728 metadata. It is built from
 * the hub's PUBLIC_URL, which is what clients must use even when the page is reached another way
 * (a proxy, a tunnel). `server` null is the endpoint of all the user's tools, `/mcp`.
 */
export async function getEndpointUrl(server: string | null): Promise<string> {
  const path =
    server === null
      ? '/.well-known/oauth-protected-resource/mcp'
      : `/.well-known/oauth-protected-resource/mcp/servers/${encodeURIComponent(server)}`;
  return (await call<{ resource: string }>(path)).resource;
}

/** The names of the servers the user may use (`GET /api/mcp/tools`), sorted. */
export async function getServerNames(): Promise<string[]> {
  const answer = await call<{ servers: Record<string, unknown> }>('/api/mcp/tools');
  return Object.keys(answer.servers).sort((a, b) => a.localeCompare(b));
}
