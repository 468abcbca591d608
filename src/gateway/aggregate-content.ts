import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  SetLevelRequestSchema,
  type GetPromptResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { promptCatalog, type PromptBinding } from './aggregate-prompts.js';
import type { AggregateDeps } from './aggregate-server.js';
import { metaParam } from './caller-meta.js';
import { connectedWith } from './connected-servers.js';
import { relayTo } from './downstream-relay.js';
import { exposePromptResult } from './exposed-content.js';
import { requestContextOf } from './request-context.js';
import { isSharedConnection } from './shared-connection.js';
import { resourceTarget, targetOf } from './session-targets.js';
import { ShownNames } from './shown-names.js';
import { sessionLogsOf } from './session-logs.js';

/**
 * Prompts, completions and logging of an aggregated session (resources: aggregate-resources.ts):
 * lists fan out to the caller's connected servers; a prompt or a completion goes to the server it
 * names, as the registry gives it to the caller now. A completion of a resource template argument
 * names the exposed template, which maps back to the upstream's own like any exposed URI.
 */
export function registerContentHandlers(server: Server, deps: AggregateDeps): void {
  const shownPrompts = new ShownNames<PromptBinding>();
  const promptEntries = async (caller: Identity) =>
    (await promptCatalog(deps, caller)).map((p) => [p.exposed, p.binding] as const);
  const promptTarget = (name: string, caller: Identity) =>
    targetOf(deps.registry, shownPrompts, name, caller, () => promptEntries(caller), 'prompt');

  server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => {
    const catalog = await promptCatalog(deps, requestContextOf(extra).caller);
    shownPrompts.replace(catalog.map((p) => [p.exposed, p.binding] as const));
    return { prompts: catalog.map((p) => p.prompt) };
  });

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const { caller } = requestContextOf(extra);
    const { binding, target } = await promptTarget(request.params.name, caller);
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    const result = await connection.forward(
      'prompts/get',
      { ...request.params, ...metaParam(request.params._meta), name: binding.promptName },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
    // The upstream's own prompt result, unvalidated; exposePromptResult checks each field it rewrites.
    return exposePromptResult(target.name, result as GetPromptResult);
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

  // The level is set on the caller's own connections only: on an app-level server's shared one it
  // would change what every user hears (the per-server endpoint refuses it there; REST answers 409).
  server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    if (deps.pool) sessionLogsOf(deps.pool).setLevel(server, extra, null, request.params.level);
    for (const { key, forward } of await connectedWith(deps, requestContextOf(extra).caller, 'logging')) {
      if (isSharedConnection(key)) continue;
      await forward('logging/setLevel', { level: request.params.level }).catch(() => undefined);
    }
    return {};
  });
}
