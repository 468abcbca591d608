import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { StdioCommand } from './everything.js';
import { registerSizedTools } from './sized-tools.mjs';

/** Command line of the stdio peer with the same tools (sized-stdio-server.mjs). */
export function sizedStdioCommand(): StdioCommand {
  return {
    command: process.execPath,
    args: [fileURLToPath(new URL('./sized-stdio-server.mjs', import.meta.url))],
  };
}

/** A running sized-result peer on loopback. */
export interface SizedHttpServer {
  /** Streamable HTTP answering calls with an SSE stream (the SDK's default). */
  readonly streamableUrl: string;
  /** Streamable HTTP answering calls with a plain JSON body. */
  readonly jsonUrl: string;
  /** Legacy HTTP+SSE (protocol 2024-11-05): GET the event stream here, POST where it says. */
  readonly sseUrl: string;
  close(): Promise<void>;
}

/**
 * Starts the peer with the tools of sized-tools.mjs over streamable HTTP (SSE and JSON responses)
 * and legacy SSE, each session its own SDK server sharing one `held` gate.
 */
export async function startSizedHttpServer(): Promise<SizedHttpServer> {
  const gate = { waiting: [] as (() => void)[] };
  const newServer = (): McpServer => {
    const server = new McpServer({ name: 'sized-http', version: '1.0.0' });
    registerSizedTools(server, gate);
    return server;
  };
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const httpServer = http.createServer((req, res) => {
    void route(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      legacy.set(transport.sessionId, transport);
      res.on('close', () => legacy.delete(transport.sessionId));
      await newServer().connect(transport);
      return;
    }
    if (url.pathname === '/messages') {
      const transport = legacy.get(url.searchParams.get('sessionId') ?? '');
      if (transport === undefined) res.writeHead(404).end();
      else await transport.handlePostMessage(req, res);
      return;
    }
    if (url.pathname !== '/mcp' && url.pathname !== '/json') {
      res.writeHead(404).end();
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    const known = typeof sessionId === 'string' ? streamable.get(sessionId) : undefined;
    let transport: StreamableHTTPServerTransport;
    if (known !== undefined) transport = known;
    else {
      if (sessionId !== undefined) {
        res.writeHead(404).end();
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: url.pathname === '/json',
        onsessioninitialized: (id): void => {
          streamable.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) streamable.delete(created.sessionId);
      };
      await newServer().connect(created);
      transport = created;
    }
    await transport.handleRequest(req, res);
  };
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  return {
    streamableUrl: `${base}/mcp`,
    jsonUrl: `${base}/json`,
    sseUrl: `${base}/sse`,
    async close() {
      for (const resolve of gate.waiting.splice(0)) resolve();
      await Promise.all([...streamable.values(), ...legacy.values()].map((each) => each.close()));
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
