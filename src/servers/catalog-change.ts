/**
 * Which users' tool catalogs a change may have touched: the listed ones, or (null) anyone, as when
 * a server shared with a group or everyone changes.
 */
export interface CatalogChange {
  serverName: string;
  users: string[] | null;
}

/** The KV channel on which catalog changes reach every instance's MCP sessions. */
export const CATALOG_CHANNEL = 'servers:catalog-changed';

/** A {@link CatalogChange} read back from {@link CATALOG_CHANNEL}; null for anything malformed. */
export function parseCatalogChange(message: string): CatalogChange | null {
  try {
    const value = JSON.parse(message) as { serverName?: unknown; users?: unknown }; // checked field by field
    if (typeof value.serverName !== 'string') return null;
    if (value.users === null) return { serverName: value.serverName, users: null };
    if (!Array.isArray(value.users) || !value.users.every((u) => typeof u === 'string')) return null;
    return { serverName: value.serverName, users: value.users };
  } catch {
    return null;
  }
}
