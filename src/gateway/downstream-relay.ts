import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  ErrorCode,
  ListRootsResultSchema,
  McpError,
  type ClientCapabilities,
  type ProgressToken,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallToolOptions, SessionChannel, UpstreamServerRequest } from '../connections/index.js';

/** The SDK's per-request context of a downstream request handler. */
export type DownstreamExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What one relayed request passes back to its downstream client. */
export type CallRelay = Pick<
  CallToolOptions,
  'signal' | 'onLog' | 'onProgress' | 'onServerRequest' | 'onElicitationComplete'
>;

/**
 * Everything an upstream says during one downstream request, sent to the client that made it on
 * that request's own stream (the SDK's `extra` carries the request id, so nothing reaches another
 * session): progress under the client's own token, log messages, and the upstream's sampling,
 * elicitation and roots requests, each checked against what this client declared.
 */
export function relayTo(
  server: Server,
  extra: DownstreamExtra,
  progressToken: ProgressToken | undefined,
): CallRelay {
  const notify = (notification: ServerNotification): void => {
    void extra.sendNotification(notification).catch(() => undefined); // the client may have gone
  };
  return {
    signal: extra.signal,
    onLog: (params) => notify({ method: 'notifications/message', params }),
    onProgress: (p) => {
      if (progressToken === undefined) return;
      notify({
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: p.progress,
          ...(p.total === undefined ? {} : { total: p.total }),
          ...(p.message === undefined ? {} : { message: p.message }),
        },
      });
    },
    onServerRequest: (request, signal) =>
      askClient(server, request, (typed, schema) => extra.sendRequest(typed, schema, { signal })),
    // After the call the request's stream is gone: the session's standalone stream carries it.
    onElicitationComplete: (params) => {
      server.notification({ method: 'notifications/elicitation/complete', params }).catch(() => undefined);
    },
  };
}

/**
 * Where a connection bound to this session sends the upstream's requests no call claims: the
 * session's client, on its standalone stream (MCP 2025-11-25 basic/transports: a server may send
 * requests on the GET stream), with the same checks as in a call.
 */
export function sessionChannel(server: Server): SessionChannel {
  return {
    handle: (request, signal) =>
      askClient(server, request, (typed, schema) => server.request(typed, schema, { signal })),
    onElicitationComplete: (params) => {
      server.notification({ method: 'notifications/elicitation/complete', params }).catch(() => undefined);
    },
  };
}

/** One server→client request put to this session's client through `send`, if it declared the capability. */
async function askClient(
  server: Server,
  request: UpstreamServerRequest,
  send: (
    typed: ServerRequest,
    schema: ReturnType<typeof resultSchemaFor>,
  ) => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const capabilities = server.getClientCapabilities() ?? {};
  // A client without roots has none to list: the same answer the hub gives outside a call.
  if (request.method === 'roots/list' && !capabilities.roots) return { roots: [] };
  const schema = resultSchemaFor(request, capabilities);
  // `schema` was chosen for this very method, so the request is that method's ServerRequest.
  const typed = { method: request.method, params: request.params ?? {} } as ServerRequest;
  return await send(typed, schema);
}

/**
 * The result schema of a server→client request this client can answer; an MCP error (relayed to
 * the upstream) when it declared no such capability, as the client itself would answer.
 */
function resultSchemaFor(
  request: UpstreamServerRequest,
  capabilities: ClientCapabilities,
):
  | typeof CreateMessageResultSchema
  | typeof CreateMessageResultWithToolsSchema
  | typeof ElicitResultSchema
  | typeof ListRootsResultSchema {
  const params = request.params ?? {};
  const refuse = (what: string): McpError =>
    new McpError(ErrorCode.MethodNotFound, `The MCP client of this call does not support ${what}`);
  switch (request.method) {
    case 'sampling/createMessage': {
      if (!capabilities.sampling) throw refuse('sampling');
      const withTools = params.tools !== undefined || params.toolChoice !== undefined;
      if (withTools && !capabilities.sampling.tools) throw refuse('tool use in sampling');
      return withTools ? CreateMessageResultWithToolsSchema : CreateMessageResultSchema;
    }
    case 'elicitation/create': {
      const elicitation = capabilities.elicitation;
      if (!elicitation) throw refuse('elicitation');
      if (params.mode === 'url') {
        if (!elicitation.url) throw refuse('URL elicitation');
      } else if (!elicitation.form && elicitation.url) {
        // An empty `elicitation: {}` means form mode (MCP 2025-11-25, client capabilities).
        throw refuse('form elicitation');
      }
      return ElicitResultSchema;
    }
    case 'roots/list':
      return ListRootsResultSchema;
    default:
      throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
  }
}
