import type { Kv } from '../kv/index.js';

/** One upstream tool as the hub caches it. */
export interface CachedTool {
  name: string;
  description?: string | undefined;
  inputSchema?: unknown;
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
      kv.set(
        key(connectionKey),
        JSON.stringify(
          tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
        ),
        { ttlMs: TOOL_CACHE_TTL_MS },
      ),
    invalidate: async (connectionKey) => {
      await kv.delete(key(connectionKey));
    },
  };
}
