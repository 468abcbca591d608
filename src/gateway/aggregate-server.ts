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
  type Prompt,
  type Resource,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import { isHubError } from '../errors/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { callTool } from '../tools/index.js';
import { aggregateTools, type AggregatedTool, type GatewayDeps } from './aggregate-catalog.js';
import { exposedName, exposedUri, parseExposedUri } from './names.js';
import { authorizeInCall, type CallInProgress, type InCallAuthorizationDeps } from './authorize-in-call.js';
import { relayTo } from './downstream-relay.js';
import { sharedSchemaValidator } from './schema-validator.js';

/** Deps of the aggregated session server. */
export interface AggregateDeps extends GatewayDeps, InCallAuthorizationDeps {}

const SERVER_INFO = { name: 'switchboard', version: '0.1.0' };

/**
 * One SDK server per downstream session (never shared: a shared instance leaks responses between
 * clients, CVE-2026-25536), exposing every tool, resource and prompt the caller may use, namespaced
 * by server, and routing each call to the right upstream with the caller's own credentials.
 */
export function createAggregateServer(caller: Identity, deps: AggregateDeps): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true }, resources: {}, prompts: {}, logging: {}, completions: {} },
    jsonSchemaValidator: sharedSchemaValidator,
    instructions: 'Tools of every MCP server you may use through Switchboard, named <server>__<tool>.',
  });
  let toolIndex = new Map<string, AggregatedTool>();

  async function refreshTools(): Promise<AggregatedTool[]> {
    const tools = await aggregateTools(deps, caller);
    toolIndex = new Map(tools.map((t) => [t.exposed, t]));
    return tools;
  }

  /** The connected servers that offer a capability, for list requests that fan out. */
  async function connectedWith(capability: 'resources' | 'prompts' | 'logging'): Promise<
    Array<{
      server: RegisteredServer;
      forward: (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;
    }>
  > {
    const servers = await deps.registry.list(caller);
    const out = [];
    for (const s of servers) {
      if (deps.upstreams.status(caller, s, 'relay').connectionState !== 'connected') continue;
      try {
        const { connection } = await deps.upstreams.connect(caller, s, 'relay');
        if (connection.capabilities?.[capability] === undefined) continue;
        out.push({
          server: s,
          forward: (method: string, params?: Record<string, unknown>) => connection.forward(method, params),
        });
      } catch {
        // a server that dropped between the status check and now is simply left out
      }
    }
    return out;
  }

  async function serverByName(name: string): Promise<RegisteredServer> {
    try {
      return await deps.registry.get(name, caller);
    } catch {
      throw new McpError(ErrorCode.InvalidParams, `Unknown server '${name}'`);
    }
  }

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const tools = await refreshTools();
    return { tools: tools.map((t) => ({ ...t.tool, name: t.exposed })) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const name = request.params.name;
    const target = toolIndex.get(name) ?? (await refreshTools(), toolIndex.get(name));
    if (!target) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const asked = { server, extra, progressToken: request.params._meta?.progressToken };
    try {
      if (target.kind === 'authorize') return await connectServer(target.server, asked);
      const call = () =>
        callTool(deps.upstreams, caller, target.server, target.tool.name, request.params.arguments ?? {}, {
          ...relayTo(server, extra, asked.progressToken),
          profile: 'relay',
        });
      try {
        return await call();
      } catch (err) {
        if (!isHubError(err, 'HUB_ERR_OAUTH_REQUIRED')) throw err;
        return await authorizeInCall(asked, caller, target.server, deps, call);
      }
    } catch (err) {
      if (isHubError(err)) return { isError: true, content: [{ type: 'text', text: err.message }] };
      throw err;
    }
  });

  /**
   * `<server>__authorize`: connects the server (authorizing first when needed); its own tools then
   * replace the stand-in, and the client hears `tools/list_changed`.
   */
  async function connectServer(target: RegisteredServer, asked: CallInProgress): Promise<CallToolResult> {
    const connectNow = async (): Promise<CallToolResult> => {
      await deps.upstreams.connect(caller, target, 'relay');
      const count = (await refreshTools()).filter((t) => t.server.name === target.name).length;
      await server.sendToolListChanged().catch(() => undefined);
      return {
        content: [{ type: 'text', text: `'${target.name}' is connected: ${count} tools are now available.` }],
      };
    };
    if (await deps.upstreams.isAuthenticated(caller, target)) return connectNow();
    return authorizeInCall(asked, caller, target, deps, connectNow);
  }

  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    const resources: Resource[] = [];
    for (const { server: s, forward } of await connectedWith('resources')) {
      const result = await forward('resources/list').catch(() => ({ resources: [] }));
      for (const r of (result.resources as Resource[] | undefined) ?? [])
        resources.push({ ...r, uri: exposedUri(s.name, r.uri) });
    }
    return { resources };
  });

  // Templates carry variables whose expansion the hub cannot namespace; the per-server endpoint serves them.
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({ resourceTemplates: [] }));

  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const parsed = parseExposedUri(request.params.uri);
    if (!parsed) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
    const target = await serverByName(parsed.serverName);
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    const result = await connection.forward(
      'resources/read',
      { uri: parsed.uri },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
    // The upstream's own result shape (MCP ReadResourceResult); only the URIs are rewritten below.
    const contents = (result.contents as ReadResourceResult['contents'] | undefined) ?? [];
    // Relayed as the upstream sent it (an MCP server's own result), with the URIs namespaced.
    const relayed: ReadResourceResult = {
      ...result,
      contents: contents.map((c) => ({ ...c, uri: exposedUri(target.name, c.uri) })),
    };
    return relayed;
  });

  server.setRequestHandler(ListPromptsRequestSchema, async () => {
    const prompts: Prompt[] = [];
    for (const { server: s, forward } of await connectedWith('prompts')) {
      const result = await forward('prompts/list').catch(() => ({ prompts: [] }));
      for (const p of (result.prompts as Prompt[] | undefined) ?? [])
        prompts.push({ ...p, name: exposedName(s.name, p.name) });
    }
    return { prompts };
  });

  async function promptTarget(name: string): Promise<{ server: RegisteredServer; name: string }> {
    for (const { server: s, forward } of await connectedWith('prompts')) {
      const result = await forward('prompts/list').catch(() => ({ prompts: [] }));
      const match = ((result.prompts as Prompt[] | undefined) ?? []).find(
        (p) => exposedName(s.name, p.name) === name,
      );
      if (match) return { server: s, name: match.name };
    }
    throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${name}`);
  }

  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const target = await promptTarget(request.params.name);
    const { connection } = await deps.upstreams.connect(caller, target.server, 'relay');
    return await connection.forward(
      'prompts/get',
      { ...request.params, name: target.name },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
  });

  server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    const ref = request.params.ref;
    let target: RegisteredServer;
    let upstreamRef: Record<string, unknown>;
    if (ref.type === 'ref/prompt') {
      const t = await promptTarget(ref.name);
      target = t.server;
      upstreamRef = { ...ref, name: t.name };
    } else {
      const parsed = parseExposedUri(ref.uri);
      if (!parsed) throw new McpError(ErrorCode.InvalidParams, 'Unknown resource');
      target = await serverByName(parsed.serverName);
      upstreamRef = { ...ref, uri: parsed.uri };
    }
    const { connection } = await deps.upstreams.connect(caller, target, 'relay');
    return await connection.forward(
      'completion/complete',
      { ...request.params, ref: upstreamRef },
      relayTo(server, extra, request.params._meta?.progressToken),
    );
  });

  server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    for (const { forward } of await connectedWith('logging')) {
      await forward('logging/setLevel', { level: request.params.level }).catch(() => undefined);
    }
    return {};
  });

  return server;
}
