import { type Selectable, sql } from 'kysely';
import { systemRandom } from '../core/index.js';
import { HubError } from '../errors/index.js';
import { isForeignKeyViolation, isUniqueViolation } from './constraint-errors.js';
import { newId } from './ids.js';
import { type JsonObject, parseJsonObject, toJsonText } from './json-text.js';
import { containsPattern, LIKE_ESCAPE } from './like-pattern.js';
import { inTransaction, type RepositoryDeps } from './repository-deps.js';
import type { ServersTable } from './tables.js';

/** A user-created MCP server config. */
export interface ServerRecord {
  id: string;
  /** As the creator spelled it; unique regardless of case. */
  name: string;
  ownerId: string;
  config: JsonObject;
  /** Encrypted JSON (by the credentials module), or null. */
  secrets: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What creating a server takes. */
export interface NewServer {
  name: string;
  ownerId: string;
  config: JsonObject;
  secrets?: string | null | undefined;
}

/** Fields to change; an omitted field is left as it is, `secrets: null` clears the secrets. */
export interface ServerChanges {
  config?: JsonObject | undefined;
  secrets?: string | null | undefined;
}

/** Filters and paging for {@link ServersRepository.list}. */
export interface ServerListOptions {
  /** Case-insensitive substring of the name or of `config.title`. */
  search?: string | undefined;
  /** Page size; defaults to 100. */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  after?: string | undefined;
  /** Only these server ids (e.g. those an ACL lets the caller see). */
  ids?: readonly string[] | undefined;
}

/** One page of servers, ordered by name regardless of case. */
export interface ServerPage {
  servers: ServerRecord[];
  /** Pass as `after` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** The DB tier of the server registry. Names are matched without regard to case. */
export interface ServersRepository {
  /**
   * Creates a server. Throws `HUB_ERR_CONFLICT` when the name is taken in any case, and
   * `HUB_ERR_USER_NOT_FOUND` when the owner does not exist.
   */
  create(input: NewServer): Promise<ServerRecord>;
  findByName(name: string): Promise<ServerRecord | null>;
  findById(id: string): Promise<ServerRecord | null>;
  list(options?: ServerListOptions): Promise<ServerPage>;
  /** Null when no server has this name. */
  update(name: string, changes: ServerChanges): Promise<ServerRecord | null>;
  /** Deletes the server and its ACL entries together; false when no server has this name. */
  delete(name: string): Promise<boolean>;
  /** Every server name, as spelled by its creator, ordered regardless of case. */
  listNames(): Promise<string[]>;
}

const DEFAULT_PAGE_SIZE = 100;

/** Builds the {@link ServersRepository}. */
export function createServersRepository({
  db,
  clock,
  random = systemRandom,
}: RepositoryDeps): ServersRepository {
  const findOne = async (column: 'name_key' | 'id', value: string): Promise<ServerRecord | null> => {
    const row = await db.selectFrom('servers').selectAll().where(column, '=', value).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  };

  return {
    create: async (input) => {
      const now = clock.now();
      try {
        const row = await db
          .insertInto('servers')
          .values({
            id: newId(random),
            name: input.name,
            name_key: nameKey(input.name),
            title_key: titleKey(input.config),
            owner_id: input.ownerId,
            config: toJsonText(input.config),
            secrets: input.secrets ?? null,
            created_at: now,
            updated_at: now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toRecord(row);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw new HubError('HUB_ERR_CONFLICT', {
            message: 'A server with this name already exists',
            cause: error,
          });
        }
        if (isForeignKeyViolation(error)) throw new HubError('HUB_ERR_USER_NOT_FOUND', { cause: error });
        throw error;
      }
    },

    findByName: (name) => findOne('name_key', nameKey(name)),
    findById: (id) => findOne('id', id),

    list: async (options = {}) => {
      if (options.ids?.length === 0) return { servers: [], nextCursor: null };
      // A page holds at least one row, so a bad limit cannot stall a caller that pages to the end.
      const limit = Math.max(1, Math.trunc(options.limit ?? DEFAULT_PAGE_SIZE));
      let query = db
        .selectFrom('servers')
        .selectAll()
        .orderBy('name_key')
        .limit(limit + 1);
      if (options.after !== undefined) query = query.where('name_key', '>', options.after);
      if (options.ids !== undefined) query = query.where('id', 'in', options.ids);
      if (options.search !== undefined && options.search !== '') {
        const pattern = containsPattern(options.search);
        // Both keys are stored lower-cased, so LIKE behaves the same on both dialects.
        query = query.where((eb) =>
          eb.or([
            sql<boolean>`${sql.ref('name_key')} like ${pattern} escape ${LIKE_ESCAPE}`,
            sql<boolean>`${sql.ref('title_key')} like ${pattern} escape ${LIKE_ESCAPE}`,
          ]),
        );
      }
      const rows = await query.execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        servers: page.map(toRecord),
        nextCursor: rows.length > limit && last !== undefined ? last.name_key : null,
      };
    },

    update: async (name, changes) => {
      const row = await db
        .updateTable('servers')
        .set({
          updated_at: clock.now(),
          ...(changes.config === undefined
            ? {}
            : { config: toJsonText(changes.config), title_key: titleKey(changes.config) }),
          ...(changes.secrets === undefined ? {} : { secrets: changes.secrets }),
        })
        .where('name_key', '=', nameKey(name))
        .returningAll()
        .executeTakeFirst();
      return row === undefined ? null : toRecord(row);
    },

    delete: (name) =>
      inTransaction(db, async (trx) => {
        const row = await trx
          .deleteFrom('servers')
          .where('name_key', '=', nameKey(name))
          .returning('id')
          .executeTakeFirst();
        if (row === undefined) return false;
        // Server ids are never reused, so leftover entries would only be clutter; remove them
        // in the same transaction so no reader sees a server's ACL without the server.
        await trx
          .deleteFrom('acl_entries')
          .where('resource_type', '=', 'mcp_server')
          .where('resource_id', '=', row.id)
          .execute();
        return true;
      }),

    listNames: async () =>
      (await db.selectFrom('servers').select('name').orderBy('name_key').execute()).map((r) => r.name),
  };
}

function nameKey(name: string): string {
  return name.toLowerCase();
}

/** `config.title` lower-cased for search; the store needs no other knowledge of the config's shape. */
function titleKey(config: JsonObject): string | null {
  return typeof config.title === 'string' ? config.title.toLowerCase() : null;
}

function toRecord(row: Selectable<ServersTable>): ServerRecord {
  return {
    id: row.id,
    name: row.name,
    ownerId: row.owner_id,
    config: parseJsonObject(row.config, 'servers.config'),
    secrets: row.secrets,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
