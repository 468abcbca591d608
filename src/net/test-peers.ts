import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildConnector } from 'undici';
import { isHubError } from '../errors/index.js';
import type { Connector } from './pinned-connector.js';
import type { ResolvedAddress, Resolver } from './pick-address.js';

// Helpers for the net/ tests only (not exported from index.ts). Every socket they open is on loopback.

/** One request a {@link Peer} received. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  remotePort: number;
  localAddress: string;
}

/** A loopback HTTP server that records every request it receives. */
export interface Peer {
  port: number;
  /** `http://<host>:<port><path>`. */
  url(path?: string): string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/** Answers one request; the request's body has been read into `seen.body`. */
export type PeerHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void;

/** Starts a {@link Peer} on `host` (a loopback address) and an ephemeral port. */
export async function startPeer(
  handler: PeerHandler = (_req, res) => res.end('ok'),
  host = '127.0.0.1',
): Promise<Peer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        remotePort: req.socket.remotePort ?? 0,
        localAddress: req.socket.localAddress ?? '',
      };
      requests.push(seen);
      handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo; // listen() on a host and port always yields AddressInfo
  return {
    port,
    url: (path = '/') => `http://${host}:${port}${path}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A `dial` for the guard that lets loopback addresses through and sends anything else to the
 * canary port instead, recording what it was asked for: even a broken check cannot make a test
 * leave loopback, and the canary's request count shows it.
 */
export function loopbackDial(canaryPort: number): { dial: Connector; dialled: string[] } {
  const base = buildConnector({ timeout: 2_000 });
  const dialled: string[] = [];
  const dial: Connector = (options, callback) => {
    dialled.push(options.hostname);
    if (options.hostname.startsWith('127.')) {
      base(options, callback);
    } else {
      base({ ...options, hostname: '127.0.0.1', port: String(canaryPort), protocol: 'http:' }, callback);
    }
  };
  return { dial, dialled };
}

/** A scripted resolver: `answer(hostname, call)` gives the addresses, or throws for a failed lookup. */
export function scriptedResolver(answer: (hostname: string, call: number) => readonly string[]): {
  resolver: Resolver;
  calls: string[];
} {
  const calls: string[] = [];
  const resolver: Resolver = async (hostname) => {
    calls.push(hostname);
    const addresses = answer(hostname, calls.filter((name) => name === hostname).length);
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return { resolver, calls };
}

/** How a request ended, for assertions: `resolved`, a HubError code, or an error's name and message. */
export async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isHubError(error) ? error.code : `${(error as Error).name}: ${(error as Error).message}`;
  }
  return 'resolved';
}
