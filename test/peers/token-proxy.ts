import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a {@link TokenProxy} does with the next token requests. */
export type TokenProxyMode = 'forward' | 'fail' | 'hang' | 'refuse';

/** A loopback proxy in front of an authorization server's token endpoint, switchable to fail. */
export interface TokenProxy {
  /** `http://127.0.0.1:<port>/token`: configure it as the server's `oauth.token_url`. */
  readonly tokenUrl: string;
  /** Sets how the next token requests are answered. */
  setMode(mode: TokenProxyMode): void;
  /** Token requests received so far, per mode they were handled in. */
  readonly counts: Readonly<Record<TokenProxyMode, number>>;
  /** Stops listening and drops every connection (hanging ones too). */
  stop(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1 that forwards `POST /token` to `<target>/token` (`forward`),
 * answers it with a 500 `server_error` (`fail`) or a 400 `invalid_grant` (`refuse`: the grant is
 * dead, RFC 6749 §5.2), or reads it and never answers (`hang`). Any other path is a 404: only the
 * token endpoint goes through it.
 */
export async function startTokenProxy(target: string): Promise<TokenProxy> {
  let mode: TokenProxyMode = 'forward';
  const counts: Record<TokenProxyMode, number> = { forward: 0, fail: 0, hang: 0, refuse: 0 };
  const upstream = new URL('/token', target);

  const forward = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const headers = { ...req.headers, host: upstream.host };
    const out = http.request(upstream, { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const current = mode;
    counts[current] += 1;
    if (current === 'forward') {
      forward(req, res);
      return;
    }
    req.resume();
    if (current === 'fail' || current === 'refuse') {
      const [status, error] = current === 'fail' ? [500, 'server_error'] : [400, 'invalid_grant'];
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
      });
    }
    // 'hang': the body is read and nothing is ever sent.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    tokenUrl: `http://127.0.0.1:${port}/token`,
    setMode: (next) => {
      mode = next;
    },
    counts,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
