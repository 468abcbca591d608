import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A running {@link startCutStreamServer} peer. */
export interface CutStreamServer {
  /** Its endpoint: `http://127.0.0.1:<port>/mcp` (streamable HTTP) or `…/sse` (legacy SSE). */
  readonly url: string;
  /** Answers cut half-way so far (`cut` and `end-early` calls). */
  readonly cuts: number;
  /** MCP sessions opened so far: one per upstream connection the hub made. */
  readonly sessions: number;
  /** Calls of `hold` waiting to be released. */
  readonly holding: number;
  /** Lets every waiting `hold` call answer. */
  release(): void;
  close(): Promise<void>;
}

/** Which MCP HTTP transport the peer serves. */
export type CutStreamTransport = 'streamable-http' | 'sse';

/** Size of the text `cut` answers with: several network writes' worth. */
const CUT_RESULT_BYTES = 256 * 1024;

/**
 * How an answer is cut: `close` ends the connection after half the event, with no last chunk (an
 * upstream dying mid-answer); `end` ends the response cleanly after half the event (a server or
 * proxy that gives up on the answer yet frames the body).
 */
type CutHow = 'close' | 'end';

/** Which cut a POST's JSON-RPC body asks for, if it calls `cut` or `end-early`. */
function cutAskedFor(body: unknown): CutHow | undefined {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  for (const m of messages) {
    const message = m as { method?: unknown; params?: { name?: unknown } } | null;
    if (message?.method !== 'tools/call') continue;
    if (message.params?.name === 'cut') return 'close';
    if (message.params?.name === 'end-early') return 'end';
  }
  return undefined;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/**
 * Makes `res` send only the first half of its first large write (the SSE event carrying the
 * result), then cut as `how` says; nothing written after that goes out.
 */
function cutHalfway(res: http.ServerResponse, how: CutHow, onCut: () => void): void {
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (bytes.length < CUT_RESULT_BYTES / 2) return write(chunk, ...rest);
    const half = bytes.subarray(0, bytes.length >> 1);
    res.write = (() => false) as typeof res.write;
    if (how === 'end') {
      // The transport ends the response next, with its last chunk: the body is well framed.
      write(half);
      onCut();
      return false;
    }
    // No end either, so no last chunk: once the half is out, the socket closes under it.
    res.end = (() => res) as typeof res.end;
    const socket = res.socket;
    write(half, () => {
      onCut();
      socket?.destroy();
    });
    return false;
  }) as typeof res.write;
}

/**
 * Starts an MCP server (SDK; streamable HTTP answering calls with SSE, or legacy SSE) on 127.0.0.1
 * whose large answers are cut half-way. Tools: `echo {message}` → `Echo: <message>`; `cut` → 256
 * KiB of text, its event cut by closing the connection (on legacy SSE, the session's stream);
 * `end-early` (streamable HTTP) → the same, its response ended cleanly half-way; `hold` → `Held`,
 * once `release()` is called.
 */
export async function startCutStreamServer(
  transportKind: CutStreamTransport = 'streamable-http',
): Promise<CutStreamServer> {
  let cuts = 0;
  let sessions = 0;
  let holders: Array<() => void> = [];
  const onCut = (): void => {
    cuts += 1;
  };
  const newServer = (): McpServer => {
    const server = new McpServer({ name: 'cut-stream', version: '1.0.0' });
    server.registerTool(
      'echo',
      { description: 'Echoes the message back', inputSchema: { message: z.string() } },
      ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }),
    );
    const large = () => ({ content: [{ type: 'text' as const, text: 'z'.repeat(CUT_RESULT_BYTES) }] });
    server.registerTool('cut', { description: 'An answer cut half-way by a closed connection' }, large);
    server.registerTool('end-early', { description: 'An answer whose response ends half-way' }, large);
    server.registerTool('hold', { description: 'Answers once released' }, async () => {
      await new Promise<void>((resolve) => holders.push(resolve));
      return { content: [{ type: 'text', text: 'Held' }] };
    });
    return server;
  };
  const counted = { opened: () => (sessions += 1), newServer, onCut };
  const route = transportKind === 'sse' ? legacyRoutes(counted) : streamableRoutes(counted);

  const httpServer = http.createServer((req, res) => {
    route.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${transportKind === 'sse' ? '/sse' : '/mcp'}`,
    get cuts() {
      return cuts;
    },
    get sessions() {
      return sessions;
    },
    get holding() {
      return holders.length;
    },
    release: () => {
      for (const release of holders.splice(0)) release();
    },
    close: async () => {
      holders = [];
      await route.close();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}

/** What the routes of either transport share. */
interface PeerParts {
  opened: () => void;
  newServer: () => McpServer;
  onCut: () => void;
}

interface Routes {
  handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/** Streamable HTTP at `/mcp`, stateful; the POST calling `cut` or `end-early` is cut. */
function streamableRoutes(parts: PeerParts): Routes {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  return {
    handle: async (req, res) => {
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
            parts.opened();
          },
        });
        created.onclose = () => {
          if (created.sessionId !== undefined) sessions.delete(created.sessionId);
        };
        await parts.newServer().connect(created);
        transport = created;
      }
      const how = cutAskedFor(body);
      if (how !== undefined) cutHalfway(res, how, parts.onCut);
      await transport.handleRequest(req, res, body);
    },
    close: async () => {
      for (const transport of sessions.values()) await transport.close().catch(() => undefined);
    },
  };
}

/** Legacy SSE: the session's stream at `GET /sse`, messages at `POST /messages`; a large event on the stream is cut. */
function legacyRoutes(parts: PeerParts): Routes {
  const sessions = new Map<string, SSEServerTransport>();
  return {
    handle: async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/sse') {
        const transport = new SSEServerTransport('/messages', res);
        sessions.set(transport.sessionId, transport);
        transport.onclose = () => sessions.delete(transport.sessionId);
        cutHalfway(res, 'close', parts.onCut);
        parts.opened();
        await parts.newServer().connect(transport);
        return;
      }
      const transport = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (req.method !== 'POST' || url.pathname !== '/messages' || transport === undefined) {
        res.writeHead(404).end();
        return;
      }
      await transport.handlePostMessage(req, res, await readJson(req));
    },
    close: async () => {
      for (const transport of sessions.values()) await transport.close().catch(() => undefined);
    },
  };
}
