import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConnection } from '../connections/index.js';
import { isHubError } from '../errors/index.js';
import { relayTo, type DownstreamExtra } from './downstream-relay.js';
import { sharedSchemaValidator } from './schema-validator.js';

/**
 * A transparent per-server endpoint (`/mcp/servers/:serverName`): one SDK server per downstream
 * session that declares the upstream's own capabilities and instructions and relays every request
 * unchanged (names and URIs included) over the caller's `relay` connection, with progress, logs and the
 * upstream's own sampling, elicitation and roots requests passed back to this session's client. Upstream
 * JSON-RPC errors keep their codes; the hub's own failures become internal errors with a safe message.
 * `connection` is asked on every request with that request's context, so the connection used is the
 * one of the caller and server config authenticated and looked up for that very request.
 */
export function createProxyServer(
  connection: (extra: DownstreamExtra) => Promise<UpstreamConnection>,
  first: UpstreamConnection,
): Server {
  const info = first.serverInfo ?? { name: 'upstream', version: '0.0.0' };
  const server = new Server(
    { name: info.name, version: info.version },
    {
      capabilities: first.capabilities ?? {},
      jsonSchemaValidator: sharedSchemaValidator,
      ...(first.instructions === undefined ? {} : { instructions: first.instructions }),
    },
  );
  server.fallbackRequestHandler = async (request, extra) => {
    try {
      const upstream = await connection(extra);
      const params = request.params as Record<string, unknown> | undefined; // a JSON-RPC params object
      return await upstream.forward(
        request.method,
        params,
        relayTo(server, extra, request.params?._meta?.progressToken),
      );
    } catch (err) {
      if (err instanceof McpError) throw err;
      if (isHubError(err)) throw new McpError(ErrorCode.InternalError, err.message);
      throw err;
    }
  };
  return server;
}
