import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the front saw it on its way to the MCP server behind. */
export interface FrontRequest {
  httpMethod: string;
  /** The JSON-RPC methods of the body (several for a batch); empty for a GET, a DELETE or a response. */
  rpcMethods: string[];
  /** Lower-case header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
}

/** A recording reverse proxy in front of one MCP server: a canary that sees every request. */
export interface RecordingFront {
  /** `http://127.0.0.1:<port><path of the target>`: connect here instead of to the target. */
  url: string;
  /** Every request so far, oldest first. */
  readonly requests: readonly FrontRequest[];
  close(): Promise<void>;
}

function rpcMethodsOf(body: Buffer): string[] {
  if (body.length === 0) return [];
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    const messages: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
    const methods: string[] = [];
    for (const m of messages) {
      if (typeof m === 'object' && m !== null && 'method' in m && typeof m.method === 'string') {
        methods.push(m.method);
      }
    }
    return methods;
  } catch {
    return [];
  }
}

/**
 * Starts a loopback listener that records each request (headers and JSON-RPC methods) and relays it
 * unchanged to `target`, streaming the answer back (SSE included).
 */
export async function startRecordingFront(target: string): Promise<RecordingFront> {
  const to = new URL(target);
  const requests: FrontRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      requests.push({ httpMethod: req.method ?? '', rpcMethods: rpcMethodsOf(body), headers });
      const upstream = httpRequest(
        {
          host: to.hostname,
          port: to.port,
          path: req.url,
          method: req.method,
          headers: { ...req.headers, host: to.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port; // a TCP listen always yields AddressInfo
  return {
    url: `http://127.0.0.1:${port}${to.pathname}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
