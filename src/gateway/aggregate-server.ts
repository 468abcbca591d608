import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  type CallToolResult,
  type ReadResourceResult,
  type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import { isHubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { callTool } from '../tools/index.js';
import { forwardableHeaders } from '../upstreams/index.js';
import { toolCatalog, type GatewayDeps, type ToolBinding } from './aggregate-catalog.js';
import { promptCatalog, type PromptBinding } from './aggregate-prompts.js';
import { authorizeInCall, type CallInProgress, type InCallAuthorizationDeps } from './authorize-in-call.js';
import { connectedWith } from './connected-servers.js';
import { relayTo } from './downstream-relay.js';
import { exposedUri, parseExposedUri } from './names.js';
import { requestContextOf } from './request-context.js';
import { sharedSchemaValidator } from './schema-validator.js';
import { currentServer } from './server-ref.js';
import { ShownNames } from './shown-names.js';

/** Deps of the aggregated session server. */
export interface AggregateDeps extends GatewayDeps, InCallAuthorizationDeps {}

const SERVER_INFO = { name: 'switchboard', version: '0.1.0' };

/**
 * One SDK server per downstream session (never shared: a shared instance leaks responses between
 * clients, CVE-2026-25536), exposing every tool, resource and prompt the caller may use, namespaced
 * by server, and routing each call to the right upstream with the caller's own credentials.
 *
 * Every request is answered as the caller authenticated for the HTTP request that carried it, and
 * against the registry as it is now: the session remembers only which server and tool each name it
 * showed stands for, never an identity or a server's config. A demoted user, a revoked share, a
 * removed group member or a deleted server is refused on the next request, on any instance.
 */
export function createAggregateServer(deps: AggregateDeps): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true }, resources: {}, prompts: {}, logging: {}, completions: {} },
    jsonSchemaValidator: sharedSchemaValidator,
    instructions: 'Tools of every MCP server you may use through Switchboard, named <server>__<tool>.',
  });
  const shownTools = new ShownNames<ToolBinding>();
  const shownPrompts = new ShownNames<PromptBinding>();

  /** The server `name` was shown for, as the caller may use it now; `what` names the refusal. */
  async function targetOf<B extends { server: ToolBinding['server'] }>(
    shown: ShownNames<B>,
    name: string,
    caller: Identity,
    current: () => Promise<Iterable<readonly [string, B]>>,
    what: string,
  ): Promise<{ binding: B; target: RegisteredServer }> {
    const binding = await shown.resolve(name, current);
    const target = binding && (await currentServer(deps.registry, binding.server, caller));
    // Gone, hidden from the caller now, or its name taken by another server: the same answer as unknown.
    if (!binding || !target) throw new McpError(ErrorCode.InvalidParams, `Unknown ${what}: ${name}`);
    return { binding, target };
  }
  const toolEntries = async (caller: Identity) =>
    (await toolCatalog(deps, caller)).map((t) => [t.exposed, t.binding] as const);
  const promptEntries = async (caller: Identity) =>
    (await promptCatalog(deps, caller)).map((p) => [p.exposed, p.binding] as const);
  const promptTarget = (name: string, caller: Identity) =>
    targetOf(shownPrompts, name, caller, () => promptEntries(caller), 'prompt');

  /**
   * The server of an exposed resource URI, as the caller may use it now. The server part of the URI
   * is a server name, which holds no `/`: URIs of two servers never meet, so no map is needed.
   */
  async function resourceTarget(
    uri: string,
    caller: Identity,
  ): Promise<{ target: RegisteredServer; uri: string }> {
    const parsed = parseExposedUri(uri);
    if (!parsed) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
    try {
      return { target: await deps.registry.get(parsed.serverName, caller), uri: parsed.uri };
    } catch (err) {
      if (isHubError(err)) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
      throw err;
    }
  }

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    const catalog = await toolCatalog(deps, requestContextOf(extra).caller);
    shownTools.replace(catalog.map((t) => [t.exposed, t.binding] as const));
    return { tools: catalog.map((t) => t.tool) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { caller } = requestContextOf(extra);
    const { binding, target } = await targetOf(
      shownTools,
      request.params.name,
      caller,
      () => toolEntries(caller),
      'tool',
    );
    const asked = { server, extra, progressToken: request.params._meta?.progressToken };
    // An authorization can take minutes: what runs after it looks the server up again.
    const again = async (): Promise<RegisteredServer> => {
      const now = await currentServer(deps.registry, binding.server, caller);
      if (!now) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      return now;
    };
    try {
      if (binding.kind === 'authorize') return await connectServer(caller, target, asked, again);
      const callOn = (on: RegisteredServer) =>
        callTool(deps.upstreams, caller, on, binding.toolName, request.params.arguments ?? {}, {
          ...relayTo(server, extra, asked.progressToken),
          profile: 'relay',
          callHeaders: forwardableHeaders(extra.requestInfo?.headers),
        });
      try {
        return await callOn(target);
      } catch (err) {
        if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
        return await authorizeInCall(asked, caller, target, deps, async () => callOn(await again()));
      }
    } catch (err) {
      if (isHubError(err)) return { isError: true, content: [{ type: 'text', text: err.message }] };
      throw err;
    }
  });

  /**
   * `<server>__authorize`: connects the server (authorizing first when needed, then looking it up
   * `again`); its own tools then replace the stand-in, and the client hears `tools/list_changed`.
   */
  async function connectServer(
    caller: Identity,
    target: RegisteredServer,
    asked: CallInProgress,
    again: () => Promise<RegisteredServer>,
  ): Promise<CallToolResult> {
    const connectNow = async (on: RegisteredServer): Promise<CallToolResult> => {
      await deps.upstreams.connect(caller, on, 'relay');
      const count = (await toolCatalog(deps, caller)).filter(
        (t) => t.binding.kind === 'upstream' && t.binding.server.name === on.name,
      ).length;
      await server.sendToolListChanged().catch(() => undefined);
      return {
        content: [{ type: 'text', text: `'${on.name}' is connected: ${count} tools are now available.` }],
      };
    };
    if (await deps.upstreams.isAuthenticated(caller, target)) return connectNow(target);
    return authorizeInCall(asked, caller, target, deps, async () => connectNow(await again()));
  }

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
    const { target, uri } = await resourceTarget(request.params.uri, caller);
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
      const found = await resourceTarget(ref.uri, caller);
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

  return server;
}
