import { type IncomingMessage, createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, type Socket, connect as netConnect } from 'node:net';

// A test peer (not exported from index.ts): a tiny loopback forward proxy for the proxy tests
// here and in the hub's suites. Every socket it opens is on loopback.

/** A loopback forward proxy that records what passes through it. */
export interface ForwardProxy {
  port: number;
  /** `http://[userinfo@]127.0.0.1:<port>`. */
  url(userinfo?: string): string;
  /** The `host:port` of every CONNECT it was asked for, in order. */
  connects: string[];
  /** Every absolute-URI request it forwarded. */
  forwarded: string[];
  /** The `Proxy-Authorization` of every CONNECT or request, `-` when none. */
  authorizations: string[];
  /** Bytes the tunnels carried from the client to the target. */
  tunnelledBytes(): number;
  close(): Promise<void>;
}

/** How the proxy behaves. */
export interface ForwardProxyOptions {
  /**
   * Where a requested `host:port` really goes (default: itself). Lets a test name a target the hub
   * cannot resolve, so only the proxy can reach it.
   */
  route?: (hostPort: string) => { host: string; port: number };
  /** When set, a request without exactly this `Proxy-Authorization` is answered 407. */
  requireAuthorization?: string;
}

/** Starts a {@link ForwardProxy} on 127.0.0.1 and an ephemeral port. */
export async function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const connects: string[] = [];
  const forwarded: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  let bytes = 0;
  const route =
    options.route ??
    ((hostPort: string) => {
      const at = hostPort.lastIndexOf(':');
      return { host: hostPort.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(hostPort.slice(at + 1)) };
    });
  const authorized = (req: IncomingMessage): boolean => {
    const given = req.headers['proxy-authorization'];
    authorizations.push(given ?? '-');
    return options.requireAuthorization === undefined || given === options.requireAuthorization;
  };

  const server = createServer((req, res) => {
    if (!authorized(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const target = new URL(req.url ?? '/');
    forwarded.push(target.href);
    const to = route(`${target.hostname}:${target.port || '80'}`);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const out = httpRequest(
      { host: to.host, port: to.port, method: req.method, path: target.pathname + target.search, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (!authorized(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const hostPort = req.url ?? '';
    connects.push(hostPort);
    const to = route(hostPort);
    const upstream = netConnect(to.port, to.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // listen() on a host and port always yields AddressInfo
  return {
    port,
    url: (userinfo) => `http://${userinfo === undefined ? '' : `${userinfo}@`}127.0.0.1:${port}`,
    connects,
    forwarded,
    authorizations,
    tunnelledBytes: () => bytes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
