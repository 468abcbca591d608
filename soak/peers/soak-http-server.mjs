// @ts-check
/**
 * Streamable HTTP MCP peer of the soak (tools in soak-tools.mjs), one SDK server per session, on
 * 127.0.0.1 and the port in `PORT` (fixed, so the soak can start it again where the hub expects it
 * after its `crash` tool ended it). Prints `listening` once it accepts connections.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { registerSoakTools } from './soak-tools.mjs';

/** @type {Map<string, StreamableHTTPServerTransport>} */
const sessions = new Map();

/** @param {http.IncomingMessage} req @param {http.ServerResponse} res */
async function route(req, res) {
  if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  const id = req.headers['mcp-session-id'];
  const known = typeof id === 'string' ? sessions.get(id) : undefined;
  if (known !== undefined) return known.handleRequest(req, res);
  if (id !== undefined) {
    // A session of an earlier process of ours: the client must start a new one (spec: 404).
    res.writeHead(404).end();
    return;
  }
  /** @type {StreamableHTTPServerTransport} */
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (sessionId) => void sessions.set(sessionId, transport),
  });
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  const server = new McpServer({ name: 'soak-http', version: '1.0.0' });
  registerSoakTools(server);
  await server.connect(transport);
  await transport.handleRequest(req, res);
}

const httpServer = http.createServer((req, res) => {
  route(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});
httpServer.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
