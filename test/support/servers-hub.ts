import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHub, type TestHub, type TestHubOptions } from './hub.js';
import type { ServersFeature } from '../../src/servers/index.js';

/**
 * The credentials key of every servers test hub: fixed so a test can open the sealed secrets it
 * finds in the database (and prove the plaintext is not there).
 */
export const TEST_CREDENTIALS_KEY = '5e'.repeat(32);

/** A whole hub (as `createHub` wires it) with the servers feature at hand. */
export interface ServersTestHub extends TestHub {
  feature: ServersFeature;
}

/** Builds a whole hub with real parts and a known credentials key. */
export async function startServersHub(options: TestHubOptions = {}): Promise<ServersTestHub> {
  const hub = await startTestHub({
    ...options,
    env: { CREDENTIALS_KEY: TEST_CREDENTIALS_KEY, ...options.env },
  });
  return { ...hub, feature: hub.servers };
}

/** A response from {@link apiClient}: Fastify's inject response. */
export type ApiResponse = LightMyRequestResponse;

/** Bearer-authenticated JSON requests against the in-process app. */
export interface ApiClient {
  get(url: string, token: string): Promise<ApiResponse>;
  post(url: string, token: string, body?: unknown): Promise<ApiResponse>;
  put(url: string, token: string, body?: unknown): Promise<ApiResponse>;
  patch(url: string, token: string, body?: unknown): Promise<ApiResponse>;
  del(url: string, token: string): Promise<ApiResponse>;
}

/** A small client over `app.inject` for the servers tests. */
export function apiClient(app: FastifyInstance): ApiClient {
  const send = (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    body?: unknown,
  ) =>
    app.inject({
      method,
      url,
      // Always JSON, whatever the body's type (a generated body may be a bare string or number).
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  return {
    get: (url, token) => send('GET', url, token),
    post: (url, token, body) => send('POST', url, token, body),
    put: (url, token, body) => send('PUT', url, token, body),
    patch: (url, token, body) => send('PATCH', url, token, body),
    del: (url, token) => send('DELETE', url, token),
  };
}

/** Every text part of a tool-call response body, joined. */
export function responseText(res: ApiResponse): string {
  return res
    .json<{ content: Array<{ text?: string }> }>()
    .content.map((c) => c.text ?? '')
    .join('');
}

/** The `errors` of a 400 `Invalid configuration` body. */
export function validationErrors(res: ApiResponse): Array<{ path: string; message: string }> {
  return res.json<{ errors: Array<{ path: string; message: string }> }>().errors;
}

/** A loopback HTTP listener that counts what reaches it (a canary must see zero). */
export interface Listener {
  /** `http://127.0.0.1:<port>/mcp`. */
  url: string;
  port: number;
  /** Requests received so far. */
  readonly hits: number;
  close(): Promise<void>;
}

/** Starts a listener on 127.0.0.1; without a handler it answers 404. */
export async function startListener(
  handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(404).end();
  },
): Promise<Listener> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits += 1;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    get hits() {
      return hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
