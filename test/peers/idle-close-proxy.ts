import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of an HTTP/1.1 server that can close a kept-alive connection just
 * as the client sends its next request on it: the server's idle close crossing the request, which
 * HTTP/1.1 clients must expect (RFC 9112 §9.3.1). A loaded hub meets it for real against Node's
 * default 5 s keep-alive (its own idle timer runs late and it reuses a socket the server has
 * closed: "other side closed", EPIPE); here it happens on demand, with no timing involved.
 *
 * A connection counts as reused once the server has answered on it and the client then writes
 * again (HTTP/1.1 without pipelining: a new request). When armed, such a write is not forwarded:
 * the connection is closed on both sides instead, as if the server had closed it while idle.
 */
export interface IdleCloseProxy {
  /** `http://127.0.0.1:<port>` plus the target URL's path. */
  readonly url: string;
  /** Closes the next `count` reused connections as their next request arrives. */
  closeNextReused(count: number): void;
  /** Reused connections closed so far. */
  readonly closed: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  stop(): Promise<void>;
}

export async function startIdleCloseProxy(target: string): Promise<IdleCloseProxy> {
  const upstream = new URL(target);
  let armed = 0;
  let closed = 0;
  let accepted = 0;
  const sockets = new Set<Socket>();

  const server = net.createServer((client) => {
    accepted += 1;
    const server = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(server);
    client.on('close', () => sockets.delete(client));
    server.on('close', () => sockets.delete(server));
    // The server answered since the client last wrote: the client's next write is a new request.
    let answered = false;
    client.on('data', (chunk: Buffer) => {
      if (answered && armed > 0) {
        armed -= 1;
        closed += 1;
        server.destroy();
        client.destroy();
        return;
      }
      answered = false;
      if (!server.write(chunk)) client.pause();
    });
    server.on('drain', () => client.resume());
    server.on('data', (chunk: Buffer) => {
      answered = true;
      if (!client.write(chunk)) server.pause();
    });
    client.on('drain', () => server.resume());
    client.on('end', () => server.end());
    server.on('end', () => client.end());
    client.on('error', () => server.destroy());
    server.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    closeNextReused(count) {
      armed += count;
    },
    get closed() {
      return closed;
    },
    get accepted() {
      return accepted;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
