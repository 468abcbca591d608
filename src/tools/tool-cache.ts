import { createHash } from 'node:crypto';
import { destinationDigest } from '../credentials/index.js';
import { FrozenMemo } from '../core/index.js';
import type { Kv } from '../kv/index.js';
import type { RegisteredServer } from '../registry/index.js';

/**
 * One upstream tool as the hub caches it: what the upstream's `tools/list` said about it, as is.
 * Fields are unvalidated beyond their names; readers that must trust a shape (the REST listing)
 * check it themselves.
 */
export interface CachedTool {
  name: string;
  description?: string | undefined;
  /** Human-readable name (MCP 2025-06-18). */
  title?: string | undefined;
  inputSchema?: unknown;
  outputSchema?: unknown;
  /** Behaviour hints: title, readOnlyHint, destructiveHint, idempotentHint, openWorldHint. */
  annotations?: unknown;
  /** Icons (MCP 2025-11-25): `{src, mimeType?, sizes?, theme?}` each. */
  icons?: unknown;
  /** Execution hints (MCP 2025-11-25): `taskSupport` says whether the tool runs as a task. */
  execution?: unknown;
}

/** Anything that can list an upstream's tools: a live connection. */
export interface ToolSource {
  listTools(): Promise<readonly CachedTool[]>;
}

/** The server a list is listed from and read for: its source, owner, name and config. */
export type ToolListServer = Pick<RegisteredServer, 'source' | 'ownerId' | 'name' | 'config'>;

/**
 * Which server a list was listed from: where it comes from and who owns it, its name, and where it
 * points (the destination digest: transport, URL or command line, headers, OAuth). A server
 * deleted and recreated under the same name by someone else, or pointing elsewhere, or edited to
 * point elsewhere, is another server, whose readers must not get the old one's tools. Hashed: the
 * KV holds no owner id and no config.
 */
export function toolListIdentity(server: ToolListServer): string {
  // Asked for every server of every catalog read: a frozen config keeps its identity.
  const who = `${server.source}\u0000${server.ownerId ?? ''}\u0000${server.name}`;
  return identities.get(server.config, who, () => {
    const parts = [server.source, server.ownerId ?? '', server.name, destinationDigest(server.config)];
    return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
  });
}

const identities = new FrozenMemo<string>();

/**
 * The tool lists of live connections. The shared copy lives in the KV, so every instance sees the
 * same catalog and an invalidation on one instance (a delete) reaches all; each instance also keeps
 * the list of its own live connections in memory. The KV copy is only a cache: a missing entry
 * (Redis restarted or flushed, TTL lapsed) or an unreadable one (Redis down) means "unknown", never
 * "no tools", and readers then take the list from the live connection. Keyed like connections:
 * `app|server` or `user|<id>|server`; each entry also names the server it was listed from
 * ({@link toolListIdentity}), and one listed from another server of that name reads as missing
 * (a delete reaches only the keys an instance knows of, so an entry may outlive its server).
 */
export interface ToolCache {
  /**
   * The shared copy of `server`'s tools; null when it is missing, unreadable, not answered in time
   * (unknown) or listed from another server of that name (stale).
   */
  get(connectionKey: string, server: ToolListServer): Promise<CachedTool[] | null>;
  /**
   * The tools of a live connection to `server` after the shared copy was missing: this instance's
   * list of that connection, else listed from it once; then written back to the KV in the background.
   */
  fromConnection(
    connectionKey: string,
    connection: ToolSource,
    server: ToolListServer,
  ): Promise<CachedTool[]>;
  /**
   * The latest list of a live connection whose tools are not shared (a session's own connection:
   * what its server lists may be that session's alone), listed once and kept in memory only; a
   * `list_changed` refresh of the connection replaces it.
   */
  ofConnection(connection: ToolSource): Promise<CachedTool[]>;
  /**
   * Lists the connection's tools afresh (a connect, a reinitialize, `list_changed`) and stores them:
   * in memory at once, in the KV at best within a bound. `server` is the one the connection was
   * opened for; without it (a `list_changed`) the one it was last listed for, and when none is known
   * the KV is left alone. Rejects only when the upstream cannot list its tools, never because the
   * KV failed.
   */
  refresh(connectionKey: string, connection: ToolSource, server?: ToolListServer): Promise<CachedTool[]>;
  /** Writes the shared copy of `server`'s tools at best within a bound; never rejects. */
  put(connectionKey: string, tools: readonly CachedTool[], server: ToolListServer): Promise<void>;
  /** Drops the shared copy (rejects when the KV fails: a stale copy must not be left unnoticed). */
  invalidate(connectionKey: string): Promise<void>;
}

/** A cached list expires on its own after a day, so a missed invalidation cannot live forever. */
const TOOL_CACHE_TTL_MS = 24 * 60 * 60 * 1000;

/** How long a KV call of the cache may take before the cache goes on without it. */
const KV_TIMEOUT_MS = 1_000;

/** A KV outage fails every read and write: one warning of each kind per this long is enough. */
const WARN_EVERY_MS = 10_000;

/** The keys of a tool the cache keeps; anything else an upstream sent (`_meta`) is dropped. */
const KEPT_KEYS = [
  'name',
  'description',
  'title',
  'inputSchema',
  'outputSchema',
  'annotations',
  'icons',
  'execution',
] as const satisfies readonly (keyof CachedTool)[];

/** The kept keys of one tool, leaving out those the upstream did not give. */
export function cacheableTool(tool: CachedTool): CachedTool {
  const kept: Record<string, unknown> = {};
  for (const key of KEPT_KEYS) {
    if (tool[key] !== undefined) kept[key] = tool[key];
  }
  return kept as unknown as CachedTool;
}

/** Where the cache reports the KV failures it rides out (the hub's logger fits). */
export interface ToolCacheLogger {
  warn(fields: { key: string; reason: string }, message: string): void;
}

/** Options of {@link createToolCache}. */
export interface ToolCacheOptions {
  /** Hears KV failures the cache rides out (the catalog stays right without the KV). */
  logger?: ToolCacheLogger;
  /** How long a KV read or write may take before the cache goes on without it; default 1 s. */
  kvTimeoutMs?: number;
}

/** A KV read or write that did not answer in time. */
class KvTooSlow extends Error {
  constructor(timeoutMs: number) {
    super(`the KV did not answer within ${timeoutMs} ms`);
  }
}

/** Creates the cache over the hub's KV. */
export function createToolCache(kv: Kv, options: ToolCacheOptions = {}): ToolCache {
  return new KvToolCache(kv, options.kvTimeoutMs ?? KV_TIMEOUT_MS, options.logger);
}

/**
 * {@link ToolCache} over the KV, with each live connection's list in memory (weakly held, so a
 * closed connection's list goes with it). Every KV call is bounded: a slow or absent Redis delays
 * a listing or a connect by at most `timeoutMs`, and fails none.
 */
class KvToolCache implements ToolCache {
  /** Each connection's latest list (single-flight while it is being listed). */
  private readonly lists = new WeakMap<ToolSource, Promise<CachedTool[]>>();
  /** The server each connection was last listed for ({@link toolListIdentity}). */
  private readonly servers = new WeakMap<ToolSource, string>();
  /** When each kind of warning was last logged. */
  private readonly warnedAt = new Map<string, number>();
  /**
   * The last entry read per key, parsed and frozen: a warm catalog reads the same text again and
   * again, and parsing it was the largest share of a warm `tools/list`. Compared by text, so any
   * change (another instance's write) is parsed afresh.
   */
  private readonly parsed = new Map<string, { raw: string; server: string; tools: CachedTool[] | null }>();

  constructor(
    private readonly kv: Kv,
    private readonly timeoutMs: number,
    private readonly logger: ToolCacheLogger | undefined,
  ) {}

  async get(connectionKey: string, server: ToolListServer): Promise<CachedTool[] | null> {
    let raw: string | null;
    try {
      raw = await this.bounded(this.kv.get(kvKey(connectionKey)));
    } catch (err) {
      this.warn(err, connectionKey, 'could not read the shared tool list; using the live connection');
      return null;
    }
    if (raw === null) return null;
    const identity = toolListIdentity(server);
    const seen = this.parsed.get(connectionKey);
    if (seen !== undefined && seen.raw === raw && seen.server === identity) return seen.tools;
    const tools = frozen(parseEntry(raw, identity));
    if (this.parsed.size >= MAX_PARSED_ENTRIES) this.parsed.clear();
    this.parsed.set(connectionKey, { raw, server: identity, tools });
    return tools;
  }

  async fromConnection(
    connectionKey: string,
    connection: ToolSource,
    server: ToolListServer,
  ): Promise<CachedTool[]> {
    const identity = this.remember(connection, server);
    const tools = await (this.lists.get(connection) ?? this.list(connection));
    void this.write(connectionKey, tools, identity);
    return tools;
  }

  ofConnection(connection: ToolSource): Promise<CachedTool[]> {
    return this.lists.get(connection) ?? this.list(connection);
  }

  async refresh(
    connectionKey: string,
    connection: ToolSource,
    server?: ToolListServer,
  ): Promise<CachedTool[]> {
    const identity = server ? this.remember(connection, server) : this.servers.get(connection);
    const tools = await this.list(connection);
    if (identity !== undefined) await this.write(connectionKey, tools, identity);
    return tools;
  }

  put(connectionKey: string, tools: readonly CachedTool[], server: ToolListServer): Promise<void> {
    return this.write(connectionKey, tools, toolListIdentity(server));
  }

  async invalidate(connectionKey: string): Promise<void> {
    await this.kv.delete(kvKey(connectionKey));
  }

  /** Notes which server the connection serves; returns its identity. */
  private remember(connection: ToolSource, server: ToolListServer): string {
    const identity = toolListIdentity(server);
    this.servers.set(connection, identity);
    return identity;
  }

  /** Writes the shared copy, naming the server it was listed from; never rejects. */
  private async write(connectionKey: string, tools: readonly CachedTool[], server: string): Promise<void> {
    const entry: StoredEntry = { server, tools: tools.map(cacheableTool) };
    const value = JSON.stringify(entry);
    try {
      await this.bounded(this.kv.set(kvKey(connectionKey), value, { ttlMs: TOOL_CACHE_TTL_MS }));
    } catch (err) {
      this.warn(
        err,
        connectionKey,
        'could not write the shared tool list; the live connection still serves it',
      );
    }
  }

  /** Lists the connection's tools and keeps the list as the connection's latest. */
  private list(connection: ToolSource): Promise<CachedTool[]> {
    const listing = connection.listTools().then((tools) => tools.map(cacheableTool));
    this.lists.set(connection, listing);
    // A failed listing is not kept: the next reader lists again.
    listing.catch(() => {
      if (this.lists.get(connection) === listing) this.lists.delete(connection);
    });
    return listing;
  }

  /** The KV call's outcome, or a rejection once `timeoutMs` passed (the call itself is left to end). */
  private bounded<T>(call: Promise<T>): Promise<T> {
    call.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new KvTooSlow(this.timeoutMs)), this.timeoutMs);
    });
    return Promise.race([call, late]).finally(() => clearTimeout(timer));
  }

  /** Warns of a KV failure; during an outage, each kind of failure at most once per {@link WARN_EVERY_MS}. */
  private warn(err: unknown, key: string, message: string): void {
    const now = Date.now();
    if (now - (this.warnedAt.get(message) ?? -Infinity) < WARN_EVERY_MS) return;
    this.warnedAt.set(message, now);
    const reason = err instanceof Error ? err.message : String(err);
    this.logger?.warn({ key, reason }, message);
  }
}

/** The KV key of a connection's list. */
const kvKey = (connectionKey: string): string => `tools:${connectionKey}`;

/** What the KV holds under a key: the list and the {@link toolListIdentity} of its server. */
interface StoredEntry {
  server: string;
  tools: CachedTool[];
}

/**
 * The stored list when it was listed from `server`; null when the value is not an entry (unknown,
 * like a missing one; a bare list written before entries named their server is one) or names
 * another server (stale: the next write overwrites it).
 */
/** Parsed entries kept ({@link KvToolCache}); past this many, the memo starts again. */
const MAX_PARSED_ENTRIES = 10_000;

/** The list and its tools made read-only, so one parsed copy can serve every reader. */
function frozen(tools: CachedTool[] | null): CachedTool[] | null {
  if (tools === null) return null;
  for (const tool of tools) Object.freeze(tool);
  return Object.freeze(tools) as CachedTool[];
}

function parseEntry(raw: string, server: string): CachedTool[] | null {
  try {
    const parsed = JSON.parse(raw) as Partial<StoredEntry> | null;
    if (typeof parsed !== 'object' || parsed === null || parsed.server !== server) return null;
    return Array.isArray(parsed.tools) ? parsed.tools : null;
  } catch {
    return null;
  }
}
