import { ApiError, call } from '../api.ts';

/** The query keys of the Admin screen, under one root so a change can refresh them together. */
export const ADMIN_KEY = ['admin'] as const;

/** An account as `GET /api/admin/users` lists it. */
export interface Account {
  id: string;
  email: string;
  role: 'USER' | 'ADMIN';
  disabled: boolean;
  disabledAt: number | null;
  hasPassword: boolean;
  origin: 'local' | 'external' | 'legacy';
  identities: { issuer: string; subject: string }[];
  createdAt: number;
  updatedAt: number;
}

/** One page of accounts. */
export interface AccountPage {
  users: Account[];
  nextCursor: string | null;
}

/** Lists accounts (a page), or the one account with this exact email. */
export function listUsers(options: { email?: string; after?: string }): Promise<AccountPage> {
  const query = new URLSearchParams({ limit: '50' });
  if (options.email !== undefined) query.set('email', options.email);
  if (options.after !== undefined) query.set('after', options.after);
  return call<AccountPage>(`/api/admin/users?${query.toString()}`);
}

/** Changes an account's role or disabled state; the hub refuses what would lock admins out. */
export function updateUser(
  userId: string,
  change: { role?: Account['role']; disabled?: boolean },
  csrfToken: string,
): Promise<Account> {
  return call<Account>(`/api/admin/users/${encodeURIComponent(userId)}`, {
    method: 'PATCH',
    body: change,
    csrfToken,
  });
}

/** Removes an account with everything it holds (credentials, grants, memberships). */
export async function removeUser(userId: string, csrfToken: string): Promise<void> {
  await call<unknown>(`/api/admin/users/${encodeURIComponent(userId)}`, { method: 'DELETE', csrfToken });
}

/** A role's permissions for MCP servers. */
export type McpPermissions = Record<string, boolean>;

/** The role's `MCP_SERVERS` permissions. */
export async function getRolePermissions(role: Account['role']): Promise<McpPermissions> {
  const answer = await call<{ permissions: Record<string, McpPermissions | undefined> }>(
    `/api/roles/${role}`,
  );
  return answer.permissions.MCP_SERVERS ?? {};
}

/** Something that happened, as the audit log lists it. */
export interface AuditEvent {
  id: string;
  at: number;
  actorId: string | null;
  actorEmail: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

/** One page of the audit log, newest first. */
export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

/** What the audit log may be narrowed by; empty fields are left out. */
export interface AuditFilter {
  action?: string;
  actorId?: string;
  targetType?: string;
  targetId?: string;
  since?: number;
  until?: number;
}

/** A page of the audit log matching the filter. */
export function listAudit(filter: AuditFilter, after: string | undefined): Promise<AuditPage> {
  const query = new URLSearchParams({ limit: '25' });
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
  if (after !== undefined) query.set('after', after);
  return call<AuditPage>(`/api/admin/audit?${query.toString()}`);
}

/** Connections of one server on this hub instance, by state. */
export interface ConnectionCounts {
  connected: number;
  connecting: number;
  error: number;
  usersConnected: number;
}

/** Where a shared authorization stands: state, expiry and scope, never the token. */
export interface SharedAuthorization {
  state: 'authorized' | 'expiring' | 'needs_auth' | 'none';
  expiresAt: number | null;
  scope: string | null;
}

/** One registered server's health. */
export interface ServerHealth {
  name: string;
  source: 'yaml' | 'db';
  type: string;
  scope: 'app' | 'user';
  owner: { id: string; email: string | null } | null;
  requiresOAuth: boolean;
  connections: ConnectionCounts;
  lastFailure: { message: string; at: number; count: number } | null;
  sharedAuthorization: SharedAuthorization | null;
}

/** Every server's health; counts are from the hub instance that answered. */
export interface HealthReport {
  countsFrom: 'instance';
  servers: ServerHealth[];
  truncated: boolean;
}

/** Every registered server's health. */
export function getServerHealth(): Promise<HealthReport> {
  return call<HealthReport>('/api/admin/servers/health');
}

/** Revokes a shared authorization: at its authorization server when it can, and from the hub. */
export async function revokeShared(serverName: string, csrfToken: string): Promise<void> {
  await call<unknown>(`/api/mcp/${encodeURIComponent(serverName)}/disconnect?revoke=true`, {
    method: 'POST',
    csrfToken,
  });
}

/** The hub's validation messages by query field (`querystring.action` → `action`). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || typeof error.body !== 'object' || error.body === null) return {};
  const errors = (error.body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return {};
  const byField: Record<string, string> = {};
  for (const item of errors as { path?: unknown; message?: unknown }[]) {
    if (typeof item.path !== 'string' || typeof item.message !== 'string') continue;
    const field = item.path.replace(/^querystring\./, '');
    byField[field] ??= item.message;
  }
  return byField;
}

/** A time for people, in their own locale and zone. */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString();
}
