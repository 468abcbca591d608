import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** A raw client socket: what it received, and a promise that settles when the server closes it. */
interface RawClient {
  socket: net.Socket;
  received: () => string;
  closed: Promise<void>;
  /** Settles when the first bytes of an answer arrive. */
  answered: Promise<void>;
}

/** Opens a raw TCP connection to the hub and collects everything it answers. */
async function rawClient(port: number): Promise<RawClient> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  let data = '';
  socket.setEncoding('utf8');
  const answered = new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      data += chunk;
      resolve();
    });
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => resolve());
    socket.on('error', () => undefined); // a reset is a close too
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, closed, answered };
}

/** Request headers announcing a JSON body of `length` bytes, with the bearer token when given. */
function postHead(port: number, path: string, length: number, token?: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    (token === undefined ? '' : `Authorization: Bearer ${token}\r\n`) +
    `Accept: application/json, text/event-stream\r\nContent-Length: ${length}\r\n\r\n`
  );
}

/**
 * Issue 14, finding 5: a client sending its request slowly, or holding connections open, is cut
 * off by the HTTP server's limits; long responses (streamed tool calls) are not.
 */
describe('slow clients', () => {
  let probe: ProbeServer;
  let hub: TestHub;
  let port: number;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      env: {
        HTTP_HEADERS_TIMEOUT_MS: '400',
        HTTP_REQUEST_TIMEOUT_MS: '600',
        HTTP_MAX_CONNECTIONS: '20',
      },
      yaml: `
mcpServers:
  probe:
    type: streamable-http
    url: ${probe.url}
`,
    });
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    port = (hub.app.server.address() as AddressInfo).port;
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  it.each(['/mcp', '/mcp/servers/probe'])(
    'an anonymous %s POST is refused with 401 before its body arrives',
    async (path) => {
      const client = await rawClient(port);
      client.socket.write(postHead(port, path, 200) + '{"jsonrpc":"2.0",');
      await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 401 /);
      expect(client.received()).toContain('www-authenticate: Bearer resource_metadata=');
      client.socket.destroy();
    },
  );

  it('an anonymous /api POST is refused with 401 before its body arrives', async () => {
    const client = await rawClient(port);
    client.socket.write(postHead(port, '/api/mcp/probe/tools/echo/call', 200) + '{"argu');
    await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 401 /);
    client.socket.destroy();
  });
});
