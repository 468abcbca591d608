/**
 * The stored shape of every table, as Kysely sees it. Column names are snake_case as in SQL;
 * repositories map rows to camelCase records so nothing outside `store/` depends on these.
 * Timestamps are integer milliseconds since the epoch on both dialects (bigint on PostgreSQL,
 * parsed back to numbers by the pool's type parser) and JSON is stored as text, so one set of
 * types fits SQLite and PostgreSQL alike.
 */

/** A local account or one first seen through an external JWT. */
export interface UsersTable {
  id: string;
  /** Always lower-cased, so the unique index is case-insensitive on every dialect. */
  email: string;
  /** Null for users that only ever sign in with an external JWT. */
  password_hash: string | null;
  role: string;
  /** Raised to invalidate every hub-issued token of the user at once (password change, disable). */
  token_epoch: number;
  /** When the account was disabled; null while it is enabled. */
  disabled_at: number | null;
  /** 'local', 'external' or 'legacy': who vouches for the email (see users-repository.ts). */
  origin: string;
  created_at: number;
  updated_at: number;
}

/** An external identity (issuer, subject) and the account it signs in to. */
export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: number;
}

/** A user-created MCP server config (the DB tier of the registry). */
export interface ServersTable {
  id: string;
  name: string;
  /** `name` lower-cased: the unique key, and the keyset for paging. */
  name_key: string;
  /** `config.title` lower-cased, kept apart so search needs no dialect-specific JSON functions. */
  title_key: string | null;
  owner_id: string;
  config: string;
  secrets: string | null;
  created_at: number;
  updated_at: number;
}

/** One principal's permission bits on one resource. */
export interface AclEntriesTable {
  resource_type: string;
  resource_id: string;
  principal_type: string;
  /**
   * '' for the public principal: NULLs never collide in a unique index on either dialect, so a
   * NULL here would let two "public" rows exist for the same resource.
   */
  principal_id: string;
  perm_bits: number;
  granted_by: string | null;
  created_at: number;
}

/** One encrypted credential of a user (or 'system') for one server. */
export interface CredentialsTable {
  id: string;
  user_id: string;
  server_name: string;
  kind: string;
  /** '' when the credential has no issuer, for the same unique-index reason as ACL principals. */
  issuer: string;
  key_id: string;
  ciphertext: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
}

/** An append-only record of something that happened. */
export interface AuditEventsTable {
  id: string;
  at: number;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: string;
}

/** A named set of users, usable as an ACL principal. */
export interface GroupsTable {
  id: string;
  name: string;
  /** 'oidc:<provider id>' for a group an identity provider's claim maintains; null for the hub's own. */
  source: string | null;
  created_at: number;
}

/** Membership of one user in one group. */
export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  created_at: number;
}

/** One signed-in browser; the cookie holds a random token whose SHA-256 is `id_hash`. */
export interface BrowserSessionsTable {
  id_hash: string;
  user_id: string;
  /** The user's token epoch at sign-in; a later epoch ends the session. */
  token_epoch: number;
  csrf_token: string;
  /** 'password' or 'sso'. */
  method: string;
  /** The identity provider's id for an SSO session; null otherwise. */
  provider: string | null;
  created_at: number;
  last_seen_at: number;
  /** Absolute end of the session. */
  expires_at: number;
}

/** One record of the hub's authorization server (a grant, code, token, interaction or client). */
export interface OAuthServerRecordsTable {
  model: string;
  id: string;
  /** The record as JSON text. */
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  /** The hub user the record belongs to, where it has one. */
  account_id: string | null;
  client_id: string | null;
  expires_at: number | null;
  consumed_at: number | null;
  created_at: number;
}

/** A signing key of the hub's authorization server, sealed with the credentials key. */
export interface OAuthServerKeysTable {
  kid: string;
  sealed_jwk: string;
  created_at: number;
}

/** Every table the hub stores, keyed by SQL table name. */
export interface Database {
  users: UsersTable;
  user_identities: UserIdentitiesTable;
  servers: ServersTable;
  acl_entries: AclEntriesTable;
  credentials: CredentialsTable;
  audit_events: AuditEventsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  browser_sessions: BrowserSessionsTable;
  oauth_server_records: OAuthServerRecordsTable;
  oauth_server_keys: OAuthServerKeysTable;
}
