// @ts-check
/**
 * The catalog benchmark's upstreams: SERVERS MCP servers (default 20) on one streamable HTTP port,
 * at /mcp/0 … /mcp/<n-1>, each with 5 tools. Server i answers `tools/list` after (i + 1) × STEP_MS
 * (default 10 ms), so the slowest takes n × STEP_MS and all of them together, one after another,
 * would take the sum. Prints `CATALOG_LISTENING <port>`; counts lists per server on GET /lists.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const SERVERS = Number(process.env.SERVERS ?? 20);
const STEP_MS = Number(process.env.STEP_MS ?? 10);
const lists = Array.from({ length: SERVERS }, () => 0);

/** @param {number} index */
function catalogServer(index) {
  const server = new Server({ name: `catalog-${index}`, version: '1.0.0' }, { capabilities: { tools: {} } });
  const tools = Array.from({ length: 5 }, (_, t) => ({
    name: `tool${t}`,
    description: `Tool ${t} of server ${index}`,
    inputSchema: { type: /** @type {const} */ ('object'), properties: { text: { type: 'string' } } },
  }));
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    await sleep((index + 1) * STEP_MS);
    lists[index] = (lists[index] ?? 0) + 1;
    return { tools };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: request.params.name }],
  }));
  return server;
}

/** @type {Map<string, StreamableHTTPServerTransport>} */
const sessions = new Map();

/**
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function route(req, res) {
  const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (pathname === '/lists') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(lists));
    return;
  }
  const match = /^\/mcp\/(\d+)$/.exec(pathname);
  const index = match ? Number(match[1]) : -1;
  if (index < 0 || index >= SERVERS) {
    res.writeHead(404).end();
    return;
  }
  const id = req.headers['mcp-session-id'];
  const known = typeof id === 'string' ? sessions.get(id) : undefined;
  if (known !== undefined) return known.handleRequest(req, res);
  if (id !== undefined) {
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
  await catalogServer(index).connect(transport);
  await transport.handleRequest(req, res);
}

const server = http.createServer((req, res) => {
  route(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  });
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address !== null && typeof address === 'object')
    process.stdout.write(`CATALOG_LISTENING ${address.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
