import { ApiError, call } from '../api.ts';

/** Typed wrappers over the hub's API for the Servers screen (the same calls LibreChat's client makes). */

/** A server's connection state as `GET /api/mcp/connection/status` reports it. */
export type ConnectionState = 'connected' | 'connecting' | 'disconnected' | 'error';

/** One server's entry in the connection status. */
export interface ServerStatus {
  connectionState: ConnectionState;
  requiresOAuth: boolean;
  error?: string;
}

/** One server as `GET /api/mcp/tools` lists it: whether the caller may use it now, and its tools. */
export interface ToolsListing {
  name: string;
  icon: string;
  authenticated: boolean;
  tools: { name: string; pluginKey: string; description: string }[];
}

/** What one of the server's custom variables asks the user for (never a value). */
export interface UserVarField {
  title: string;
  description: string;
  sensitive?: boolean;
}

/** A server's configuration as `GET /api/mcp/servers` shows it (only the fields this screen reads). */
export interface ServerConfigView {
  serverName: string;
  source: 'yaml' | 'user';
  type: 'stdio' | 'sse' | 'streamable-http' | 'websocket';
  title?: string;
  description?: string;
  iconPath?: string;
  requiresOAuth: boolean;
  dbId?: string;
  url?: string;
  customUserVars?: Record<string, UserVarField>;
}

/** The answer to a reconnect: an OAuth server not yet authorized names the URL to sign in at. */
export interface ReinitializeAnswer {
  success: boolean;
  message: string;
  oauthUrl: string | null;
  oauthRequired: boolean;
  flowId?: string;
  oauthTimeout?: number;
  failureReason?: 'unreachable' | 'missing_custom_user_vars' | 'oauth_required' | 'initialization_failed';
  missingUserVars?: string[];
}

/** An OAuth flow's state. */
export interface FlowStatus {
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  completed: boolean;
  failed: boolean;
  error?: string | null;
}

/** What the hub says of the caller's tokens for a server: never the tokens themselves. */
export interface TokenMetadata {
  token_type: string;
  /** Milliseconds since the epoch, or null when the authorization server gave no lifetime. */
  expires_at: number | null;
  scope: string;
}

const enc = encodeURIComponent;

/** Every server the caller may use, with its tools, by name. */
export async function getToolsListing(): Promise<Record<string, ToolsListing>> {
  return (await call<{ servers: Record<string, ToolsListing> }>('/api/mcp/tools')).servers;
}

/** The hub's error body as an {@link ApiError}, read as `call` reads it. */
async function errorOf(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const message =
    typeof record.message === 'string'
      ? record.message
      : typeof record.error === 'string'
        ? record.error
        : `The hub answered ${response.status}.`;
  return new ApiError(response.status, typeof record.code === 'string' ? record.code : null, message, body);
}

/** The most pages of server configurations read (100 each): past that, the list is cut short. */
const MAX_CONFIG_PAGES = 20;

/**
 * Every server configuration the caller may see, by name, page after page. `call` returns only the
 * body, and the next cursor is in a header, so this one request goes through `fetch` itself.
 */
export async function getServerConfigs(): Promise<Record<string, ServerConfigView>> {
  const all: Record<string, ServerConfigView> = {};
  let after: string | null = null;
  for (let pageNumber = 0; pageNumber < MAX_CONFIG_PAGES; pageNumber += 1) {
    const query = new URLSearchParams({ limit: '100' });
    if (after !== null) query.set('after', after);
    const response = await fetch(`/api/mcp/servers?${query.toString()}`, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (!response.ok) throw await errorOf(response);
    Object.assign(all, (await response.json()) as Record<string, ServerConfigView>);
    after = response.headers.get('x-next-cursor');
    if (after === null || after === '') break;
  }
  return all;
}

/** The caller's permission bits on every user-created server they can see, by server id. */
export function getEffectiveBits(): Promise<Record<string, number>> {
  return call<Record<string, number>>('/api/permissions/mcpServer/effective/all');
}

/** ACL bit: may change the server's sharing (its owner, and admins). */
export const SHARE_BIT = 8;

/** Who owns a user-created server (readable with SHARE on it). */
export async function getServerOwner(serverName: string): Promise<{ id: string; email: string | null }> {
  const view = await call<{ owner: { id: string; email: string | null } }>(
    `/api/mcp/servers/${enc(serverName)}/permissions`,
  );
  return view.owner;
}

/** Every server's connection state for the caller, by name. */
export async function getConnectionStatus(): Promise<Record<string, ServerStatus>> {
  const answer = await call<{ connectionStatus: Record<string, ServerStatus> }>('/api/mcp/connection/status');
  return answer.connectionStatus;
}

/** (Re)connects the caller's connection; for an OAuth server not yet authorized, starts a flow. */
export function reinitialize(serverName: string, csrfToken: string): Promise<ReinitializeAnswer> {
  return call<ReinitializeAnswer>(`/api/mcp/${enc(serverName)}/reinitialize`, { method: 'POST', csrfToken });
}

/** Closes the caller's connection; with `revoke`, also revokes and deletes the caller's OAuth tokens. */
export async function disconnect(serverName: string, csrfToken: string, revoke = false): Promise<string> {
  const answer = await call<{ message: string }>(
    `/api/mcp/${enc(serverName)}/disconnect${revoke ? '?revoke=true' : ''}`,
    { method: 'POST', csrfToken },
  );
  return answer.message;
}

/** The state of an OAuth flow (`<userId>:<serverName>`). */
export function getFlowStatus(flowId: string): Promise<FlowStatus> {
  return call<FlowStatus>(`/api/mcp/oauth/status/${enc(flowId)}`);
}

/** The token metadata of a completed flow, or null when the hub has none to tell (flow over or unknown). */
export async function getTokenMetadata(flowId: string): Promise<TokenMetadata | null> {
  try {
    return (await call<{ tokens: TokenMetadata }>(`/api/mcp/oauth/tokens/${enc(flowId)}`)).tokens;
  } catch (error) {
    if (error instanceof ApiError && error.status >= 400 && error.status < 500) return null;
    throw error;
  }
}

/** Cancels the caller's pending OAuth flow for a server. */
export async function cancelFlow(serverName: string, csrfToken: string): Promise<void> {
  await call<unknown>(`/api/mcp/oauth/cancel/${enc(serverName)}`, { method: 'POST', csrfToken });
}

/** Which of the server's custom variables the caller has set (never the values). */
export async function getAuthValueFlags(serverName: string): Promise<Record<string, boolean>> {
  const answer = await call<{ authValueFlags: Record<string, boolean> }>(
    `/api/mcp/${enc(serverName)}/auth-values`,
  );
  return answer.authValueFlags;
}

/**
 * Sets some of the caller's variables for the server (an empty string clears that one); the others
 * keep their values. Answers which are set now.
 */
export async function putAuthValues(
  serverName: string,
  values: Record<string, string>,
  csrfToken: string,
): Promise<Record<string, boolean>> {
  const answer = await call<{ authValueFlags: Record<string, boolean> }>(
    `/api/mcp/${enc(serverName)}/auth-values`,
    {
      method: 'PUT',
      body: { values },
      csrfToken,
    },
  );
  return answer.authValueFlags;
}

/** Clears all of the caller's variables for the server. */
export async function clearAuthValues(
  serverName: string,
  csrfToken: string,
): Promise<Record<string, boolean>> {
  const answer = await call<{ authValueFlags: Record<string, boolean> }>(
    `/api/mcp/${enc(serverName)}/auth-values`,
    {
      method: 'DELETE',
      csrfToken,
    },
  );
  return answer.authValueFlags;
}
