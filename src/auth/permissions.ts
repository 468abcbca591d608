/** The hub's roles: `ADMIN` bypasses per-server access checks; both are configured under `roles:`. */
export type Role = 'USER' | 'ADMIN';

/** The `MCP_SERVERS` permission bits a role carries. */
export interface McpServerPermissions {
  USE: boolean;
  CREATE: boolean;
  SHARE: boolean;
  SHARE_PUBLIC: boolean;
}

/** Permissions per role, as configured (`roles:` in switchboard.yaml). */
export type RolePermissionTable = Readonly<Record<Role, { MCP_SERVERS: McpServerPermissions }>>;

/** One of the `MCP_SERVERS` permissions. */
export type McpPermission = keyof McpServerPermissions;

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return value === 'USER' || value === 'ADMIN';
}

/** The permissions a role has under the configured table. */
export function permissionsFor(role: Role, table: RolePermissionTable): McpServerPermissions {
  return { ...table[role].MCP_SERVERS };
}
