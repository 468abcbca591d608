import type { Kv } from '../kv/index.js';

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
}

/**
 * The tool lists of live connections, in the KV so every instance sees the same catalog and an
 * invalidation on one instance (a delete) reaches all. Keyed like connections: `app|server` or
 * `user|<id>|server`.
 */
export interface ToolCache {
  get(connectionKey: string): Promise<CachedTool[] | null>;
  put(connectionKey: string, tools: readonly CachedTool[]): Promise<void>;
  invalidate(connectionKey: string): Promise<void>;
}

/** A cached list expires on its own after a day, so a missed invalidation cannot live forever. */
const TOOL_CACHE_TTL_MS = 24 * 60 * 60 * 1000;

/** The keys of a tool the cache keeps; anything else an upstream sent (`_meta`, `execution`) is dropped. */
const KEPT_KEYS = [
  'name',
  'description',
  'title',
  'inputSchema',
  'outputSchema',
  'annotations',
  'icons',
] as const satisfies readonly (keyof CachedTool)[];

/** The kept keys of one tool, leaving out those the upstream did not give. */
export function cacheableTool(tool: CachedTool): CachedTool {
  const kept: Record<string, unknown> = {};
  for (const key of KEPT_KEYS) {
    if (tool[key] !== undefined) kept[key] = tool[key];
  }
  return kept as unknown as CachedTool;
}

/** Creates the cache over the hub's KV. */
export function createToolCache(kv: Kv): ToolCache {
  const key = (connectionKey: string) => `tools:${connectionKey}`;
  return {
    async get(connectionKey) {
      const raw = await kv.get(key(connectionKey));
      if (raw === null) return null;
      try {
        const parsed: unknown = JSON.parse(raw);
        return Array.isArray(parsed) ? (parsed as CachedTool[]) : null;
      } catch {
        return null;
      }
    },
    put: (connectionKey, tools) =>
      kv.set(key(connectionKey), JSON.stringify(tools.map(cacheableTool)), { ttlMs: TOOL_CACHE_TTL_MS }),
    invalidate: async (connectionKey) => {
      await kv.delete(key(connectionKey));
    },
  };
}
