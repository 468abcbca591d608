import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { AggregateDeps } from './aggregate-server.js';
import { metaParam } from './caller-meta.js';
import { connectedWith, listAll } from './connected-servers.js';
import { relayTo } from './downstream-relay.js';
import { exposedUri } from './names.js';
import { requestContextOf } from './request-context.js';
import type { ResourceSubscriber, ResourceSubscriptions } from './resource-subscriptions.js';
import { resourceTarget } from './session-targets.js';

/**
 * One list over the caller's servers (connected for it if need be), in parallel, each item's `field` (a URI or URI
 * template) namespaced by its server; items without one are left out.
 */
async function fanOut(
  deps: AggregateDeps,
  caller: Identity,
  method: string,
  listField: string,
  uriField: 'uri' | 'uriTemplate',
): Promise<Array<Record<string, unknown>>> {
  const servers = await connectedWith(deps, caller, 'resources', true);
  const lists = await Promise.all(
    servers.map(async (s) =>
      (await listAll(s, method, listField)).flatMap((item) => {
        const uri = item[uriField];
        return typeof uri === 'string' ? [{ ...item, [uriField]: exposedUri(s.server.name, uri) }] : [];
      }),
    ),
  );
  return lists.flat();
}

/**
 * Resources of an aggregated session: lists and templates fan out to the caller's connected
 * servers with URIs namespaced (see exposedUri); a read, or a subscription, goes to the server the
 * URI names, as the registry gives it to the caller now. Updates come back with the URI the client
 * subscribed with. Returns what ends the session's subscriptions (call it when the session closes).
 */
export function registerResourceHandlers(
  server: Server,
  deps: AggregateDeps,
  subscriptions: ResourceSubscriptions,
): () => void {
  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => {
    const { caller } = requestContextOf(extra);
    // Upstream items, checked to be objects with a string `uri`; the rest is the upstream's own.
    const resources = (await fanOut(deps, caller, 'resources/list', 'resources', 'uri')) as Resource[];
    return { resources };
  });

  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (_request, extra) => {
    const { caller } = requestContextOf(extra);
    // As above, with a string `uriTemplate`.
    const resourceTemplates = (await fanOut(
      deps,
      caller,
      'resources/templates/list',
      'resourceTemplates',
      'uriTemplate',
    )) as ResourceTemplate[];
    return { resourceTemplates };
  });

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const { target, uri } = await resourceTarget(deps.registry, request.params.uri, caller);
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    const result = await connection.forward(
      'resources/read',
      { uri, ...metaParam(request.params._meta) },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
    // The upstream's own result shape (MCP ReadResourceResult); only the URIs are rewritten below.
    const contents = (result.contents as ReadResourceResult['contents'] | undefined) ?? [];
    const relayed: ReadResourceResult = {
      ...result,
      contents: contents.map((c) => ({ ...c, uri: exposedUri(target.name, c.uri) })),
    };
    return relayed;
  });

  const subscriber: ResourceSubscriber = {
    updated: (serverName, uri) => {
      server.sendResourceUpdated({ uri: exposedUri(serverName, uri) }).catch(() => undefined);
    },
  };
  server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const { target, uri } = await resourceTarget(deps.registry, request.params.uri, caller);
    const { key, connection } = await deps.upstreams.connect(caller, target, 'relay');
    await subscriptions.subscribe({ key, connection, uri }, request.params.uri, subscriber);
    return {};
  });
  // Only this session's own subscription ends, so no server lookup: it works after a revocation too.
  server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    subscriptions.unsubscribe(subscriber, request.params.uri);
    return {};
  });
  return () => subscriptions.dropSubscriber(subscriber);
}
