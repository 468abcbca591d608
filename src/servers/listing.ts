import type { Identity } from '../auth/index.js';
import type { Logger } from '../observability/index.js';
import { mayAccessYaml, type RegisteredServer } from '../registry/index.js';
import { aclBits, type ServerRecord, type ServersRepository } from '../store/index.js';
import type { ServerAccess } from './access.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { connectableConfig, decodeDocument } from './stored-server.js';
import { adminYamlView, editableUserView, publicView, type ServerView } from './views.js';

/** Filters and paging of `GET /api/mcp/servers`. */
export interface ListOptions {
  /** Case-insensitive substring of the name or title. */
  search?: string | undefined;
  /** 1–100. */
  limit: number;
  /** The `X-Next-Cursor` of the previous page. */
  after?: string | undefined;
}

/** One page: servers by name, and the cursor of the next page (null on the last). */
export interface ListPage {
  servers: Record<string, ServerView>;
  nextCursor: string | null;
}

/** What a cursor holds: the last name (lower-cased) of the page it follows. */
const CURSOR_POSITION = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Rows read per query while filling a page. */
const DB_PAGE = 100;

interface Item {
  key: string;
  view: ServerView;
}

/** The view of a YAML server for this caller: admins see the entry, users a summary. */
export function viewOfYamlServer(server: RegisteredServer, caller: Identity): ServerView {
  return caller.role === 'ADMIN'
    ? adminYamlView(server.name, server.config)
    : publicView(server.name, 'yaml', server.config);
}

/**
 * The view of a user-created server for a caller holding `bits` on it: all of it with EDIT; without,
 * no URL (the threshold LibreChat keeps too: a URL may hold a key or name an internal host).
 */
export function viewOfDbServer(record: ServerRecord, bits: number): ServerView {
  const document = decodeDocument(record);
  if ((bits & aclBits.EDIT) !== 0) {
    return editableUserView(record.name, document.config, document.inspection, record.id);
  }
  return publicView(record.name, 'user', connectableConfig(document, document.config), {
    inspection: document.inspection,
    dbId: record.id,
  });
}

function matches(search: string, name: string, title: string | undefined): boolean {
  return name.toLowerCase().includes(search) || (title ?? '').toLowerCase().includes(search);
}

/**
 * Lists the servers a caller may see: the YAML servers its `access` allows and the
 * user-created ones the ACL shows (own, shared with the caller or a group, public; all for admins,
 * who manage them). A YAML name hides a user-created server of the same name. Ordered by name, in
 * pages that follow on from an opaque cursor.
 */
export async function listServers(
  deps: {
    yaml: readonly RegisteredServer[];
    servers: Pick<ServersRepository, 'list'>;
    access: ServerAccess;
    logger: Logger;
  },
  caller: Identity,
  options: ListOptions,
): Promise<ListPage> {
  const after = options.after === undefined ? undefined : decodeCursor(options.after, CURSOR_POSITION);
  const search = (options.search ?? '').toLowerCase();
  const yamlKeys = new Set(deps.yaml.map((s) => s.name.toLowerCase()));

  const items: Item[] = deps.yaml
    .filter((s) => after === undefined || s.name.toLowerCase() > after)
    .filter((s) => matches(search, s.name, s.config.title) && mayAccessYaml(s.config, caller))
    .map((s) => ({ key: s.name.toLowerCase(), view: viewOfYamlServer(s, caller) }));

  const ids = caller.role === 'ADMIN' ? undefined : await deps.access.visibleIds(caller);
  // Enough user-created servers to know the page's last entry and whether another page follows.
  let fromDb = 0;
  let dbAfter = after;
  let exhausted = false;
  while (!exhausted && fromDb <= options.limit) {
    const page = await deps.servers.list({
      ids,
      search: search || undefined,
      after: dbAfter,
      limit: DB_PAGE,
    });
    for (const record of page.servers) {
      const key = record.name.toLowerCase();
      dbAfter = key;
      if (yamlKeys.has(key)) continue;
      try {
        items.push({ key, view: viewOfDbServer(record, await deps.access.bitsFor(record, caller)) });
        fromDb += 1;
      } catch (err) {
        deps.logger.error({ err, server: record.name }, 'stored MCP server is unusable; not listing it');
      }
    }
    exhausted = page.nextCursor === null;
  }

  items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const page = items.slice(0, options.limit);
  const last = page.at(-1);
  return {
    servers: Object.fromEntries(page.map((item) => [item.view.serverName, item.view])),
    nextCursor: items.length > options.limit && last !== undefined ? encodeCursor(last.key) : null,
  };
}
