// @ts-check
/**
 * The benchmark's upstream: an MCP server built on the SDK with one tool, `echo {text}`, whose
 * result is one text block holding `text` unchanged. The same code serves both transports:
 *   node test/peers/echo-server.mjs stdio   → over stdin/stdout, exits when stdin ends;
 *   node test/peers/echo-server.mjs http    → streamable HTTP on 127.0.0.1 (port from PORT, default 0),
 *                                        one SDK server per session, prints `ECHO_LISTENING <port>`.
 * Plain JavaScript so `node` runs it without a loader (no transpiler CPU in the upstream's numbers).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function echoServer() {
  const server = new McpServer({ name: 'bench-echo', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'Answers its input text unchanged', inputSchema: { text: z.string() } },
    async ({ text }) => ({ content: [{ type: /** @type {const} */ ('text'), text }] }),
  );
  return server;
}

async function serveStdio() {
  await echoServer().connect(new StdioServerTransport());
  process.stdin.on('end', () => process.exit(0));
}

async function serveHttp() {
  /** @type {Map<string, StreamableHTTPServerTransport>} */
  const sessions = new Map();
  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  const route = async (req, res) => {
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') {
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
    await echoServer().connect(transport);
    await transport.handleRequest(req, res);
  };
  const server = http.createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    const address = server.address();
    if (address !== null && typeof address === 'object')
      process.stdout.write(`ECHO_LISTENING ${address.port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

if (process.argv[2] === 'stdio') await serveStdio();
else if (process.argv[2] === 'http') await serveHttp();
else {
  process.stderr.write('usage: echo-server.mjs stdio|http\n');
  process.exit(2);
}
