/** The shapes the My servers screen sends to and reads from the hub. */

/** What the hub sends in place of a stored secret; sending it back keeps the stored value. */
export const SECRET_MASK = '***';

/** Per-server permission bits, as `/api/permissions/mcpServer/effective/all` reports them. */
export const BITS = { VIEW: 1, EDIT: 2, DELETE: 4, SHARE: 8 } as const;

/** The transports a user server may use. */
export type Transport = 'sse' | 'streamable-http';

/** The OAuth settings a user may give (the hub drops `redirect_uri`: its own callback is used). */
export interface OAuthSettings {
  authorization_url?: string;
  token_url?: string;
  client_id?: string;
  /** Write-only: the hub answers {@link SECRET_MASK}. */
  client_secret?: string;
  scope?: string;
}

/** A key sent with every request: one the owner gives (`admin`), or one each user gives (`user`). */
export interface ApiKeySettings {
  source: 'admin' | 'user';
  authorization_type: 'basic' | 'bearer' | 'custom';
  custom_header?: string;
  /** Write-only: the hub answers {@link SECRET_MASK}. */
  key?: string;
}

/** One server as `GET /api/mcp/servers` shows it; where, how and headers only to those who may edit. */
export interface ServerView {
  serverName: string;
  source: 'yaml' | 'user';
  type: 'stdio' | 'sse' | 'streamable-http' | 'websocket';
  title?: string;
  description?: string;
  requiresOAuth: boolean;
  toolCount?: number | null;
  /** The servers table id: the key of the effective permission bits. */
  dbId?: string;
  url?: string;
  /** Header names; every value is {@link SECRET_MASK}. */
  headers?: Record<string, string>;
  oauth?: OAuthSettings & Record<string, unknown>;
  apiKey?: ApiKeySettings;
}

/** The config a user server is created or replaced with. */
export interface ServerConfig {
  title: string;
  description?: string;
  type: Transport;
  url: string;
  headers?: Record<string, string>;
  oauth?: OAuthSettings;
  apiKey?: ApiKeySettings;
}

/** What the caller's role allows with MCP servers (`MCP_SERVERS` of `GET /api/roles/:role`). */
export interface RolePermissions {
  USE: boolean;
  CREATE: boolean;
  SHARE: boolean;
  SHARE_PUBLIC: boolean;
}

/** A sharing role on one server. */
export type ShareRole = 'viewer' | 'editor' | 'owner';

/** One grant: users by address (by id only for the owner and accounts that are gone), groups by id. */
export interface Principal {
  type: 'user' | 'group';
  id?: string;
  email?: string;
  /** Groups: the group's name, when the hub gives it. */
  name?: string;
  role: ShareRole;
}

/** `GET /api/mcp/servers/:name/permissions`: the owner, the grant to everyone, and the grants. */
export interface Permissions {
  serverName: string;
  owner: { id: string; email: string | null };
  public: 'viewer' | 'editor' | null;
  /** The owner first. */
  principals: Principal[];
}

/** What a PUT of the permissions replaces; `public` omitted keeps the current grant to everyone. */
export interface PermissionsInput {
  public?: 'viewer' | 'editor' | null;
  principals: { type: 'user' | 'group'; id?: string; email?: string; role: ShareRole }[];
}

/** A person or group the people search found. */
export interface PrincipalMatch {
  type: 'user' | 'group';
  id?: string;
  name: string;
  email?: string;
}

/** One issue of a 400 `Invalid configuration`: the field's path (`config.url`…) and what is wrong. */
export interface FieldIssue {
  path: string;
  message: string;
}
