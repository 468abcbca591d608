import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CreateMessageResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * How the probe answers HTTP requests, switched at run time with `setMode`:
 * - `normal`: serve MCP;
 * - `reject-401`: answer every request 401 (as if the credential was revoked);
 * - `fail-500`: answer every request 500;
 * - `reset`: destroy the socket of every request without answering (connection reset);
 * - `stall`: read the request and never answer (an upstream that stopped responding).
 */
export type ProbeMode = 'normal' | 'reject-401' | 'fail-500' | 'reset' | 'stall';

/** Options of {@link startProbeServer}. */
export interface ProbeServerOptions {
  /** Answer 401 to every request that lacks this header (or has another value, when `value` is set). */
  readonly requireHeader?: { readonly name: string; readonly value?: string };
  /**
   * Answer tool calls with a plain JSON body instead of an SSE stream. With SSE (the default, like
   * most servers) a call cut by `crash` leaves the SDK client waiting for its request timeout;
   * with JSON the client's fetch fails and the call rejects at once.
   */
  readonly jsonResponse?: boolean;
  /** How many requests `recent()` and `lastHeaders()` remember. Default 100. */
  readonly historySize?: number;
}

/** One HTTP request as the probe saw it. */
export interface ProbeRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case header names; repeated headers joined with `, `. */
  readonly headers: Record<string, string>;
}

/** A running probe server. */
export interface ProbeServer {
  /** The MCP endpoint, `http://127.0.0.1:P/mcp`. */
  readonly url: string;
  /** Number of HTTP requests received so far, whatever the path, mode or outcome. */
  readonly requests: number;
  /** MCP sessions currently open (initialized and neither deleted nor killed). */
  readonly sessions: number;
  /** Standalone GET SSE streams currently open (where `tools/list_changed` is announced). */
  readonly openStreams: number;
  /** `slow` and `hang` calls that ended because their request was cancelled or their session closed. */
  readonly abortedCalls: number;
  /** Headers of the most recent requests, oldest first. */
  lastHeaders(): Record<string, string>[];
  /** The most recent requests, oldest first. */
  recent(): ProbeRequest[];
  /** Switches how requests are answered (see {@link ProbeMode}). */
  setMode(mode: ProbeMode): void;
  /**
   * Adds a tool named `name` (answering `I am <name>`) to every session, present and future;
   * each open session announces `notifications/tools/list_changed` on its standalone stream.
   * The `add-tool` tool does the same from inside a call.
   */
  addTool(name: string): void;
  /**
   * Crash: stops listening and destroys every open socket at once, mid-call or not; sessions are
   * forgotten. The `crash` tool does the same from inside a call. The port is free afterwards.
   */
  kill(): void;
  /** Listens again on the same port after `kill()`, with no sessions (an upstream restart). */
  restart(): Promise<void>;
  /** Closes every session and socket and stops listening for good. */
  stop(): Promise<void>;
}

const DEFAULT_HISTORY = 100;
const PROGRESS_INTERVAL_MS = 100;
const MCP_PATH = '/mcp';
const CRASH_DELAY_MS = 50;

interface Session {
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
}

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function headerValue(
  headers: Record<string, string | string[] | undefined> | undefined,
  name: string,
): string | null {
  const value = headers?.[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * `sample {prompt}`: asks the client's model (`sampling/createMessage`, on this call's own stream)
 * and answers `Model said: <its text>`, or a tool error with the client's refusal.
 */
function registerSampleTool(server: McpServer): void {
  server.registerTool(
    'sample',
    { description: "Asks the client's model", inputSchema: { prompt: z.string() } },
    async ({ prompt }, extra) => {
      try {
        const result = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 50 },
          },
          CreateMessageResultSchema,
        );
        const content = Array.isArray(result.content) ? result.content[0] : result.content;
        return text(`Model said: ${content?.type === 'text' ? content.text : '(no text)'}`);
      } catch (error) {
        return { ...text(`Sampling failed: ${(error as Error).message}`), isError: true };
      }
    },
  );
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Resolves after `ms`, or rejects when `signal` fires first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Starts a stateful streamable-HTTP MCP server on 127.0.0.1 and a kernel-picked port, with a
 * fresh `McpServer` and transport per session. Tools:
 * - `whoami` → JSON text `{"x-api-key": …, "authorization": …}` (null when absent) of the call's request;
 * - `echo {message}` → `Echo: <message>`;
 * - `slow {ms}` → answers `Slept <ms> ms` after `ms`, with a progress notification every 100 ms
 *   when the call carried a progressToken (progress = elapsed ms, total = ms);
 * - `hang` → never answers (until cancelled, its session closes, or the server stops);
 * - `crash` → `kill()` 50 ms into the call: the call gets no answer, the connection breaks;
 * - `add-tool {name}` → `addTool(name)`, then answers `Added <name>`;
 * - `sample {prompt}`, only for clients that declared sampling: see {@link registerSampleTool}.
 */
export async function startProbeServer(options: ProbeServerOptions = {}): Promise<ProbeServer> {
  const historySize = options.historySize ?? DEFAULT_HISTORY;
  const sessions = new Map<string, Session>();
  const addedTools: string[] = [];
  const history: ProbeRequest[] = [];
  let mode: ProbeMode = 'normal';
  let requests = 0;
  let openStreams = 0;
  let abortedCalls = 0;
  let stopped = false;

  const registerAddedTool = (server: McpServer, name: string): void => {
    server.registerTool(name, { description: `Added at run time: answers "I am ${name}"` }, () =>
      text(`I am ${name}`),
    );
  };

  const addTool = (name: string): void => {
    if (addedTools.includes(name)) return;
    addedTools.push(name);
    // registerTool on a connected McpServer sends notifications/tools/list_changed by itself.
    for (const session of sessions.values()) registerAddedTool(session.server, name);
  };

  const closeSessions = async (): Promise<void> => {
    const open = [...sessions.values()];
    sessions.clear();
    await Promise.allSettled(open.map((session) => session.server.close()));
  };

  const httpServer = http.createServer();

  const kill = (): void => {
    if (httpServer.listening) httpServer.close();
    httpServer.closeAllConnections();
    void closeSessions();
  };

  const createMcpServer = (): McpServer => {
    const server = new McpServer({ name: 'switchboard-probe', version: '1.0.0' });
    server.registerTool(
      'whoami',
      { description: 'Shows the x-api-key and authorization headers of this call' },
      (extra) => {
        const headers = extra.requestInfo?.headers;
        return text(
          JSON.stringify({
            'x-api-key': headerValue(headers, 'x-api-key'),
            authorization: headerValue(headers, 'authorization'),
          }),
        );
      },
    );
    server.registerTool(
      'echo',
      { description: 'Echoes the message back', inputSchema: { message: z.string() } },
      ({ message }) => text(`Echo: ${message}`),
    );
    server.registerTool(
      'slow',
      {
        description: 'Answers after ms milliseconds, with progress every 100 ms when asked',
        inputSchema: { ms: z.number().int().min(0).max(600_000) },
      },
      async ({ ms }, extra) => {
        const progressToken = extra._meta?.progressToken;
        const started = Date.now();
        const ticker =
          progressToken === undefined
            ? undefined
            : setInterval(() => {
                const progress = Math.min(Date.now() - started, ms);
                extra
                  .sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken, progress, total: ms },
                  })
                  .catch(() => undefined); // the stream may be gone mid-call; progress is best effort
              }, PROGRESS_INTERVAL_MS);
        try {
          await sleep(ms, extra.signal);
        } catch (error) {
          abortedCalls += 1;
          throw error;
        } finally {
          clearInterval(ticker);
        }
        return text(`Slept ${ms} ms`);
      },
    );
    server.registerTool('hang', { description: 'Never answers' }, async (extra) => {
      await new Promise<void>((resolve) =>
        extra.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      abortedCalls += 1;
      throw new Error('aborted');
    });
    server.registerTool('crash', { description: 'Kills the server mid-call' }, async (extra) => {
      // The handler starts before the transport has sent the response headers; wait a little so
      // the crash lands mid-response (an SSE stream already open), as when a real server dies.
      setTimeout(kill, CRASH_DELAY_MS);
      // No answer can leave: every socket is gone. Wait for the session to close.
      await new Promise<void>((resolve) =>
        extra.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      throw new Error('crashed');
    });
    server.registerTool(
      'add-tool',
      { description: 'Adds a tool; announces tools/list_changed', inputSchema: { name: z.string().min(1) } },
      ({ name }) => {
        addTool(name);
        return text(`Added ${name}`);
      },
    );
    for (const name of addedTools) registerAddedTool(server, name);
    // Like server-everything: a client that declared sampling also gets a tool that uses it.
    server.server.oninitialized = () => {
      if (server.server.getClientCapabilities()?.sampling) registerSampleTool(server);
    };
    return server;
  };

  const openSession = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const server = createMcpServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: options.jsonResponse ?? false,
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, { server, transport });
      },
      onsessionclosed: (sessionId) => {
        sessions.delete(sessionId);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
    // Anything but a valid initialize was refused by the transport: drop the unused pair.
    if (transport.sessionId === undefined) await server.close();
  };

  const serveMcp = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') {
      if (req.method === 'POST') {
        await openSession(req, res);
      } else {
        sendJson(res, 400, {
          jsonrpc: '2.0',
          error: { code: -32000, message: 'Bad Request: no session id' },
          id: null,
        });
      }
      return;
    }
    const session = sessions.get(sessionId);
    if (session === undefined) {
      // Streamable HTTP: 404 tells the client its session is gone and it must initialize again.
      sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      return;
    }
    if (req.method === 'GET') {
      openStreams += 1;
      res.once('close', () => {
        openStreams -= 1;
      });
    }
    await session.transport.handleRequest(req, res);
  };

  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    requests += 1;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    history.push({ method: req.method ?? '', path: url.pathname, headers: flattenHeaders(req.headers) });
    if (history.length > historySize) history.shift();

    switch (mode) {
      case 'reject-401':
        sendJson(res, 401, { error: 'probe is in reject-401 mode' });
        return;
      case 'fail-500':
        sendJson(res, 500, { error: 'probe is in fail-500 mode' });
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'stall':
        return; // never answered; kill() or stop() destroys the socket
      case 'normal':
        break;
    }
    if (options.requireHeader !== undefined) {
      const { name, value } = options.requireHeader;
      const got = req.headers[name.toLowerCase()];
      if (got === undefined || (value !== undefined && got !== value)) {
        sendJson(res, 401, { error: `missing or wrong ${name}` });
        return;
      }
    }
    if (url.pathname !== MCP_PATH) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    serveMcp(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen({ host: '127.0.0.1', port }, () => {
        httpServer.off('error', reject);
        resolve((httpServer.address() as AddressInfo).port); // a TCP listen always yields AddressInfo
      });
    });

  const port = await listen(0);

  return {
    url: `http://127.0.0.1:${port}${MCP_PATH}`,
    get requests() {
      return requests;
    },
    get sessions() {
      return sessions.size;
    },
    get openStreams() {
      return openStreams;
    },
    get abortedCalls() {
      return abortedCalls;
    },
    lastHeaders: () => history.map((entry) => ({ ...entry.headers })),
    recent: () => history.map((entry) => ({ ...entry, headers: { ...entry.headers } })),
    setMode: (next) => {
      mode = next;
    },
    addTool,
    kill,
    restart: async () => {
      if (stopped) throw new Error('probe server was stopped for good');
      if (httpServer.listening) return;
      await listen(port);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await closeSessions();
      const closed = new Promise<void>((resolve) => {
        if (!httpServer.listening) resolve();
        else httpServer.close(() => resolve());
      });
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
