import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { registerSizedTools } from './sized-tools.mjs';

/**
 * The server side of MCP over a websocket, which the SDK does not ship: one JSON-RPC message per
 * text frame on an accepted socket, as the SDK's websocket client sends them.
 */
export class ServerWebSocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  constructor(private readonly socket: WebSocket) {}

  async start(): Promise<void> {
    this.socket.on('message', (data: Buffer) => {
      let message: JSONRPCMessage;
      try {
        message = JSONRPCMessageSchema.parse(JSON.parse(data.toString('utf8')));
      } catch (error) {
        this.onerror?.(error as Error);
        return;
      }
      this.onmessage?.(message);
    });
    this.socket.on('error', (error) => this.onerror?.(error));
    this.socket.on('close', () => this.onclose?.());
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.socket.close();
  }
}

/** One opening handshake the peer saw. */
export interface SeenHandshake {
  path: string;
  /** What the client asked for in `Sec-WebSocket-Protocol`. */
  protocols: string | undefined;
  extensions: string | undefined;
}

/** A running websocket MCP peer on loopback. */
export interface WebSocketMcpServer {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/mcp` (or `wss://<host>:<port>/mcp` over TLS). */
  readonly url: string;
  /** Answers the handshake with `302` to {@link url}: a client must not follow it. */
  readonly redirectUrl: string;
  /** Every handshake, accepted or not. */
  readonly handshakes: SeenHandshake[];
  /** Sockets open now. */
  openSockets(): number;
  /** Cuts every open socket without a close frame, as a crashed server would. */
  dropAll(): void;
  close(): Promise<void>;
}

/** TLS material for a `wss:` peer, and the host name its certificate names. */
export interface PeerTls {
  key: string;
  cert: string;
  host: string;
}

/**
 * Starts a websocket MCP server on 127.0.0.1 (port 0) with `echo`, `sized`, `held`, `release`
 * (sized-tools.mjs) and `count` (progress notifications). It picks the subprotocol `mcp` and
 * refuses a client that does not ask for it; each socket gets its own SDK server.
 */
export async function startWebSocketMcpServer(tls?: PeerTls): Promise<WebSocketMcpServer> {
  const gate = { waiting: [] as (() => void)[] };
  const handshakes: SeenHandshake[] = [];
  const sockets = new Set<WebSocket>();
  const rawSockets = new Set<Socket>();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('mcp') ? 'mcp' : false),
  });
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
  server.on('connection', (socket: Socket) => {
    rawSockets.add(socket);
    socket.on('close', () => rawSockets.delete(socket));
  });
  server.on('request', (_req, res: http.ServerResponse) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const path = req.url ?? '/';
    const pathname = new URL(path, 'http://peer').pathname;
    handshakes.push({
      path,
      protocols: req.headers['sec-websocket-protocol'],
      extensions: req.headers['sec-websocket-extensions'],
    });
    if (pathname === '/redirect') {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${url}\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    if (pathname !== '/mcp') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      void newServer(gate).connect(new ServerWebSocketTransport(ws));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // listen() on a host and port yields AddressInfo
  const origin = tls ? `wss://${tls.host}:${port}` : `ws://127.0.0.1:${port}`;
  const url = `${origin}/mcp`;
  return {
    port,
    url,
    redirectUrl: `${origin}/redirect`,
    handshakes,
    openSockets: () => sockets.size,
    dropAll: () => {
      for (const ws of sockets) ws.terminate();
    },
    close: async () => {
      for (const resolve of gate.waiting.splice(0)) resolve();
      for (const socket of rawSockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function newServer(gate: { waiting: (() => void)[] }): McpServer {
  const server = new McpServer({ name: 'websocket-peer', version: '1.0.0' });
  registerSizedTools(server, gate);
  server.registerTool(
    'count',
    {
      description: 'Counts to `to`, one progress notification per step',
      inputSchema: { to: z.number().int().min(1).max(50) },
    },
    async ({ to }, extra) => {
      const progressToken = extra._meta?.progressToken;
      for (let step = 1; step <= to; step += 1) {
        if (progressToken === undefined) continue;
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: step, total: to },
        });
      }
      return { content: [{ type: 'text', text: `counted to ${to}` }] };
    },
  );
  return server;
}
