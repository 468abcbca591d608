import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback proxy in front of an authorization server's token endpoint that can lose answers:
 * in `lose` mode it forwards `POST /token`, lets the AS answer (so the code is redeemed and tokens
 * issued), and never passes the answer on. To the hub that looks like being killed right after
 * the code exchange: the AS is done, the hub has nothing.
 */
export interface LostAnswerProxy {
  /** `http://127.0.0.1:<port>/token`: configure it as the server's `oauth.token_url`. */
  readonly tokenUrl: string;
  setMode(mode: 'forward' | 'lose'): void;
  /** Answers the AS gave that were thrown away. */
  readonly lost: number;
  /** Stops listening and drops every connection (held ones too). */
  stop(): Promise<void>;
}

/** Starts a {@link LostAnswerProxy} for `<target>/token`, in `forward` mode. */
export async function startLostAnswerProxy(target: string): Promise<LostAnswerProxy> {
  let mode: 'forward' | 'lose' = 'forward';
  let lost = 0;
  const upstream = new URL('/token', target);

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    const losing = mode === 'lose';
    const out = http.request(
      upstream,
      { method: req.method, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        if (!losing) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        // Read to the end, so the AS finishes its side, then keep the hub waiting.
        answer.resume();
        answer.on('end', () => {
          lost += 1;
        });
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo; // a TCP listener: AddressInfo

  return {
    tokenUrl: `http://127.0.0.1:${port}/token`,
    setMode: (next) => {
      mode = next;
    },
    get lost() {
      return lost;
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
