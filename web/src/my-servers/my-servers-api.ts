import { ApiError, call } from '../api.ts';
import type {
  FieldIssue,
  Permissions,
  PermissionsInput,
  PrincipalMatch,
  RolePermissions,
  ServerConfig,
  ServerView,
} from './types.ts';

export { BITS, SECRET_MASK } from './types.ts';
export type {
  ApiKeySettings,
  FieldIssue,
  OAuthSettings,
  Permissions,
  PermissionsInput,
  Principal,
  PrincipalMatch,
  RolePermissions,
  ServerConfig,
  ServerView,
  ShareRole,
  Transport,
} from './types.ts';

/** Typed wrappers over the hub's `/api/mcp/servers`, sharing and role-permission routes. */

const PAGE_SIZE = 100;
/** More pages than anyone's own servers fill; a guard against a cursor that never ends. */
const MAX_PAGES = 50;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * One page of `GET /api/mcp/servers`. Fetched here rather than through `call()`, which gives the
 * body only: the next page's cursor comes in the `X-Next-Cursor` header.
 */
async function fetchServersPage(
  after: string | null,
): Promise<{ servers: Record<string, ServerView>; next: string | null }> {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (after !== null) query.set('after', after);
  const response = await fetch(`/api/mcp/servers?${query.toString()}`, {
    headers: { accept: 'application/json' },
    credentials: 'same-origin',
  });
  const parsed: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const message =
      isRecord(parsed) && typeof parsed.message === 'string'
        ? parsed.message
        : `The hub answered ${response.status}.`;
    const code = isRecord(parsed) && typeof parsed.code === 'string' ? parsed.code : null;
    throw new ApiError(response.status, code, message, parsed);
  }
  return {
    servers: isRecord(parsed) ? (parsed as Record<string, ServerView>) : {},
    next: response.headers.get('x-next-cursor'),
  };
}

/** Every user-created server the caller can see (own, shared with them, public), by title. */
export async function listUserServers(): Promise<ServerView[]> {
  const found: ServerView[] = [];
  let after: string | null = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await fetchServersPage(after);
    found.push(...Object.values(answer.servers).filter((server) => server.source === 'user'));
    if (answer.next === null) break;
    after = answer.next;
  }
  return found.sort((a, b) => displayName(a).localeCompare(displayName(b)));
}

/** The caller's per-server bits on every user server they can see, by server id (`dbId`). */
export function getEffectiveBits(): Promise<Record<string, number>> {
  return call<Record<string, number>>('/api/permissions/mcpServer/effective/all');
}

/** What the caller's role may do with MCP servers. */
export async function getRolePermissions(role: string): Promise<RolePermissions> {
  const answer = await call<{ permissions: Record<string, Partial<RolePermissions> | undefined> }>(
    `/api/roles/${encodeURIComponent(role)}`,
  );
  const servers = answer.permissions.MCP_SERVERS ?? {};
  return {
    USE: servers.USE === true,
    CREATE: servers.CREATE === true,
    SHARE: servers.SHARE === true,
    SHARE_PUBLIC: servers.SHARE_PUBLIC === true,
  };
}

const serverPath = (name: string) => `/api/mcp/servers/${encodeURIComponent(name)}`;

/** One server as the caller may see it. */
export function getServer(name: string): Promise<ServerView> {
  return call<ServerView>(serverPath(name));
}

/** Creates a server; the hub connects to it once first, and names it from its title. */
export function createServer(config: ServerConfig, csrfToken: string): Promise<ServerView> {
  return call<ServerView>('/api/mcp/servers', { method: 'POST', body: { config }, csrfToken });
}

/** Replaces a server's config; a {@link SECRET_MASK} sent back keeps the stored secret. */
export function updateServer(name: string, config: ServerConfig, csrfToken: string): Promise<ServerView> {
  return call<ServerView>(serverPath(name), { method: 'PATCH', body: { config }, csrfToken });
}

/** Deletes a server for everyone it is shared with. */
export async function deleteServer(name: string, csrfToken: string): Promise<void> {
  await call<unknown>(serverPath(name), { method: 'DELETE', csrfToken });
}

/**
 * Who a server is shared with (needs the SHARE bit on it). Groups come by id only; their names are
 * read from the same grants as the access-permissions route shows them (`serverId` is the `dbId`).
 */
export async function getPermissions(name: string, serverId?: string): Promise<Permissions> {
  const permissions = await call<Permissions>(`${serverPath(name)}/permissions`);
  const unnamed = permissions.principals.some((p) => p.type === 'group' && p.name === undefined);
  if (serverId === undefined || !unnamed) return permissions;
  let names: Map<string, string>;
  try {
    const listed = await call<{ principals: { type: string; id?: string; name?: string }[] }>(
      `/api/permissions/mcpServer/${encodeURIComponent(serverId)}`,
    );
    names = new Map(
      listed.principals.flatMap((p) =>
        p.type === 'group' && p.id !== undefined && p.name !== undefined ? [[p.id, p.name] as const] : [],
      ),
    );
  } catch {
    return permissions; // the ids still say who; names are a nicety
  }
  return {
    ...permissions,
    principals: permissions.principals.map((p) => {
      const groupName = p.type === 'group' && p.id !== undefined ? names.get(p.id) : undefined;
      return groupName === undefined ? p : { ...p, name: groupName };
    }),
  };
}

/** Replaces who a server is shared with; the owner always stays. */
export function putPermissions(
  name: string,
  input: PermissionsInput,
  csrfToken: string,
): Promise<Permissions> {
  return call<Permissions>(`${serverPath(name)}/permissions`, { method: 'PUT', body: input, csrfToken });
}

/** People and groups to share with: those on lists the caller shares, the caller's groups, a whole address. */
export async function searchPrincipals(text: string): Promise<PrincipalMatch[]> {
  const query = new URLSearchParams({ q: text, limit: '10' });
  const answer = await call<{ results: PrincipalMatch[] }>(`/api/permissions/search-principals?${query}`);
  return answer.results;
}

/** The issues of a 400 `Invalid configuration`, or none when the error is something else. */
export function fieldIssuesOf(error: unknown): FieldIssue[] {
  if (!(error instanceof ApiError) || !isRecord(error.body)) return [];
  const errors = error.body.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((issue: unknown) =>
    isRecord(issue) && typeof issue.path === 'string' && typeof issue.message === 'string'
      ? [{ path: issue.path, message: issue.message }]
      : [],
  );
}

/** The `error` tag of a refusal (`MCP_DOMAIN_NOT_ALLOWED`, `MCP_INSPECTION_FAILED`), if any. */
export function errorTagOf(error: unknown): string | null {
  if (!(error instanceof ApiError) || !isRecord(error.body)) return null;
  return typeof error.body.error === 'string' ? error.body.error : null;
}

/** The name people know a server by: its title, else its name. */
export function displayName(server: Pick<ServerView, 'title' | 'serverName'>): string {
  return server.title !== undefined && server.title !== '' ? server.title : server.serverName;
}
