import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type CreateTaskResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import { isHubError } from '../errors/index.js';
import { insufficientScope } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { callTool } from '../tools/index.js';
import { forwardableHeaders } from '../upstreams/index.js';
import { toolCatalog, type ToolBinding } from './aggregate-catalog.js';
import type { AggregateDeps } from './aggregate-server.js';
import { clientHoldsTasks, createToolTask } from './aggregate-tasks.js';
import { authorizeInCall, type CallInProgress } from './authorize-in-call.js';
import { upstreamMeta } from './caller-meta.js';
import { relayTo } from './downstream-relay.js';
import { exposeToolResult } from './exposed-content.js';
import { requestContextOf } from './request-context.js';
import { currentServer } from './server-ref.js';
import { targetOf } from './session-targets.js';
import { sessionLogsOf } from './session-logs.js';
import { ShownNames } from './shown-names.js';
import { stepUpInCall } from './step-up.js';

/** A call's result, or the task it created when the client asked for one. */
type ToolCallAnswer = CallToolResult | CreateTaskResult;

/**
 * `tools/list` and `tools/call` of an aggregated session: a call is routed by the names this
 * session was shown, to the server as the registry gives it to the caller now.
 */
export function registerToolHandlers(server: Server, deps: AggregateDeps): void {
  const shownTools = new ShownNames<ToolBinding>();
  const toolEntries = async (caller: Identity) =>
    (await toolCatalog(deps, caller)).map((t) => [t.exposed, t.binding] as const);
  // The session hears its user's log messages sent outside calls once it made a request.
  const logs = deps.pool && sessionLogsOf(deps.pool);

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    logs?.join(server, extra, null);
    const catalog = await toolCatalog(deps, requestContextOf(extra).caller);
    shownTools.replace(catalog.map((t) => [t.exposed, t.binding] as const));
    // A client that holds no tasks gets task-only tools as plain ones: the hub runs them as tasks.
    if (clientHoldsTasks(server)) return { tools: catalog.map((t) => t.tool) };
    return { tools: catalog.map(({ tool: { execution: _hidden, ...tool } }) => tool) };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<ToolCallAnswer> => {
    const { caller } = requestContextOf(extra);
    logs?.join(server, extra, null);
    const { binding, target } = await targetOf(
      deps.registry,
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
    const meta = upstreamMeta(request.params._meta);
    // A client holding tasks asked for one (MCP 2025-11-25): the upstream creates it, the client polls it.
    if (request.params.task !== undefined && binding.kind === 'upstream' && clientHoldsTasks(server))
      return createToolTask(deps, asked, target, binding.toolName, request.params);
    try {
      if (binding.kind === 'authorize') return await connectServer(caller, target, asked, again);
      const callOn = (on: RegisteredServer) =>
        callTool(deps.upstreams, caller, on, binding.toolName, request.params.arguments ?? {}, {
          ...relayTo(server, extra, asked.progressToken),
          profile: 'relay',
          callHeaders: forwardableHeaders(extra.requestInfo?.headers),
          ...(meta === undefined ? {} : { meta }),
        });
      const retry = async () => callOn(await again());
      try {
        return exposeToolResult(target.name, await callOn(target));
      } catch (err) {
        if (isHubError(err, 'HUB_ERR_OAUTH_REQUIRED'))
          return exposeToolResult(target.name, await authorizeInCall(asked, caller, target, deps, retry));
        // The live connection's server wants more scope for this call than the user granted.
        const stepUp = insufficientScope(err, target.name, deps.upstreams.lastChallenge(caller, target));
        if (stepUp === undefined) throw err;
        const after = await stepUpInCall(asked, caller, target, deps, stepUp, retry);
        return exposeToolResult(target.name, after);
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
}
