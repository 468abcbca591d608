/**
 * A downstream request's `_meta` as its upstream request carries it (MCP 2025-11-25 `_meta`), without
 * `progressToken`: the hub sends its own token upstream and relays progress under the client's, which
 * names nothing on the upstream connection. Undefined when the request had none.
 */
export function upstreamMeta(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (meta === undefined) return undefined;
  return Object.fromEntries(Object.entries(meta).filter(([key]) => key !== 'progressToken'));
}

/** `{ _meta }` to spread into an upstream request's params, or nothing when the request had none. */
export function metaParam(meta: Record<string, unknown> | undefined): { _meta?: Record<string, unknown> } {
  const relayed = upstreamMeta(meta);
  return relayed === undefined ? {} : { _meta: relayed };
}
