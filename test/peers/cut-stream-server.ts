import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A running {@link startCutStreamServer} peer. */
export interface CutStreamServer {
  /** Its streamable HTTP endpoint: `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** Calls of `cut` whose answer was cut half-way so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** Size of the text `cut` answers with: several network writes' worth. */
const CUT_RESULT_BYTES = 256 * 1024;

/** The JSON-RPC body of a POST names a `tools/call` of `cut`. */
function callsCut(body: unknown): boolean {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  return messages.some((m) => {
    const message = m as { method?: unknown; params?: { name?: unknown } } | null;
    return message?.method === 'tools/call' && message.params?.name === 'cut';
  });
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * Makes `res` send only the first half of the first large write, then destroys the socket: the
 * SSE event carrying the result is cut in the middle, as when an upstream dies mid-answer.
 */
function cutHalfway(res: http.ServerResponse, onCut: () => void): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (bytes.length < CUT_RESULT_BYTES / 2) return write(chunk, ...rest);
    write(bytes.subarray(0, bytes.length >> 1));
    onCut();
    setImmediate(() => res.socket?.destroy());
    return false;
  }) as typeof res.write;
}

/**
 * Starts a stateful streamable HTTP MCP server (SDK, answering calls with SSE) on 127.0.0.1 whose
 * `cut` tool's answer (256 KiB of text) is cut half-way by destroying the socket. Tools: `echo
 * {message}` → `Echo: <message>`; `cut` → never arrives whole.
 */
export async function startCutStreamServer(): Promise<CutStreamServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let cuts = 0;
  const newServer = (): McpServer => {
    const server = new McpServer({ name: 'cut-stream', version: '1.0.0' });
    server.registerTool(
      'echo',
      { description: 'Echoes the message back', inputSchema: { message: z.string() } },
      ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
    );
    server.registerTool('cut', { description: 'An answer that is cut half-way' }, () => ({
      content: [{ type: 'text', text: 'z'.repeat(CUT_RESULT_BYTES) }],
    }));
    return server;
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    const sessionId = req.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (transport === undefined) {
      if (sessionId !== undefined) {
        res.writeHead(404).end();
        return;
      }
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id): void => {
          sessions.set(id, created);
        },
      });
      created.onclose = () => {
        if (created.sessionId !== undefined) sessions.delete(created.sessionId);
      };
      await newServer().connect(created);
      transport = created;
    }
    if (callsCut(body)) cutHalfway(res, () => (cuts += 1));
    await transport.handleRequest(req, res, body);
  };

  const httpServer = http.createServer((req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get cuts() {
      return cuts;
    },
    close: async () => {
      for (const transport of sessions.values()) await transport.close().catch(() => undefined);
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
