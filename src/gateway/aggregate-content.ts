import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  type ReadResourceResult,
  type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { promptCatalog, type PromptBinding } from './aggregate-prompts.js';
import type { AggregateDeps } from './aggregate-server.js';
import { connectedWith } from './connected-servers.js';
import { relayTo } from './downstream-relay.js';
import { exposedUri } from './names.js';
import { requestContextOf } from './request-context.js';
import { resourceTarget, targetOf } from './session-targets.js';
import { ShownNames } from './shown-names.js';

/**
 * Resources, prompts, completions and logging of an aggregated session: lists fan out to the
 * caller's connected servers; a read, a prompt or a completion goes to the server it names, as the
 * registry gives it to the caller now.
 */
export function registerContentHandlers(server: Server, deps: AggregateDeps): void {
  const shownPrompts = new ShownNames<PromptBinding>();
  const promptEntries = async (caller: Identity) =>
    (await promptCatalog(deps, caller)).map((p) => [p.exposed, p.binding] as const);
  const promptTarget = (name: string, caller: Identity) =>
    targetOf(deps.registry, shownPrompts, name, caller, () => promptEntries(caller), 'prompt');

  server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => {
    const resources: Resource[] = [];
    for (const { server: s, forward } of await connectedWith(
      deps,
      requestContextOf(extra).caller,
      'resources',
    )) {
      const result = await forward('resources/list').catch(() => ({ resources: [] }));
      for (const r of (result.resources as Resource[] | undefined) ?? [])
        resources.push({ ...r, uri: exposedUri(s.name, r.uri) });
    }
    return { resources };
  });

  // Templates carry variables whose expansion the hub cannot namespace; the per-server endpoint serves them.
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [] }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const { target, uri } = await resourceTarget(deps.registry, request.params.uri, caller);
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    const result = await connection.forward(
      'resources/read',
      { uri },
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

  server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => {
    const catalog = await promptCatalog(deps, requestContextOf(extra).caller);
    shownPrompts.replace(catalog.map((p) => [p.exposed, p.binding] as const));
    return { prompts: catalog.map((p) => p.prompt) };
  });

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const { binding, target } = await promptTarget(request.params.name, caller);
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    return await connection.forward(
      'prompts/get',
      { ...request.params, name: binding.promptName },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
  });

  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const ref = request.params.ref;
    let target: RegisteredServer;
    let upstreamRef: Record<string, unknown>;
    if (ref.type === 'ref/prompt') {
      const found = await promptTarget(ref.name, caller);
      target = found.target;
      upstreamRef = { ...ref, name: found.binding.promptName };
    } else {
      const found = await resourceTarget(deps.registry, ref.uri, caller);
      target = found.target;
      upstreamRef = { ...ref, uri: found.uri };
    }
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    return await connection.forward(
      'completion/complete',
      { ...request.params, ref: upstreamRef },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
  });

  server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    for (const { forward } of await connectedWith(deps, requestContextOf(extra).caller, 'logging')) {
      await forward('logging/setLevel', { level: request.params.level }).catch(() => undefined);
    }
    return {};
  });
}
