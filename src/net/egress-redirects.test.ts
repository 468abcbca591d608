import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { type EgressGuard, createEgressGuard } from './index.js';
import { type Peer, type PeerHandler, loopbackDial, startPeer, outcome } from './test-peers.js';

function redirect(status: number, location: string): PeerHandler {
  return (_req, res) => {
    res.writeHead(status, { location });
    res.end();
  };
}

describe('redirects are followed by hand, 307/308 only, each hop re-checked (SS-08, SS-15)', () => {
  let canary: Peer;
  let upstream: Peer;
  let other: Peer;
  let guard: EgressGuard;
  let dialled: string[];

  beforeAll(async () => {
    canary = await startPeer();
    other = await startPeer((_req, res, seen) => res.end(JSON.stringify(seen.headers)));
    upstream = await startPeer((req, res, seen) => {
      const path = req.url ?? '/';
      const hops = /^\/hops\/(\d+)$/.exec(path);
      if (hops !== null) {
        const left = Number(hops[1]);
        return left === 0 ? res.end('arrived') : redirect(308, `/hops/${left - 1}`)(req, res, seen);
      }
      switch (path) {
        case '/302-metadata':
          return redirect(302, 'http://169.254.169.254/latest/meta-data/')(req, res, seen);
        case '/301-same':
          return redirect(301, '/echo')(req, res, seen);
        case '/303-same':
          return redirect(303, '/echo')(req, res, seen);
        case '/307-canary':
          return redirect(307, `http://127.0.0.1:${canary.port}/`)(req, res, seen);
        case '/307-mapped':
          return redirect(307, `http://[::ffff:7f00:1]:${canary.port}/`)(req, res, seen);
        case '/307-file':
          return redirect(307, 'file:///etc/passwd')(req, res, seen);
        case '/307-userinfo':
          return redirect(307, `http://u:p@127.0.0.1:${upstream.port}/echo`)(req, res, seen);
        case '/307-echo':
          return redirect(307, '/echo#fragment')(req, res, seen);
        case '/307-other':
          return redirect(307, `http://127.0.0.1:${other.port}/landing`)(req, res, seen);
        default:
          return res.end(`${seen.method} ${seen.body} ${seen.headers.authorization ?? '-'}`);
      }
    });
    const trap = loopbackDial(canary.port);
    dialled = trap.dialled;
    guard = createEgressGuard({
      allowedDomains: [`127.0.0.1:${upstream.port}`, `127.0.0.1:${other.port}`],
      dial: trap.dial,
    });
  });

  afterEach(() => {
    expect(canary.requests).toHaveLength(0);
    expect(dialled.filter((address) => !address.startsWith('127.'))).toEqual([]);
  });

  afterAll(async () => {
    await guard.close();
    await Promise.all([canary.close(), upstream.close(), other.close()]);
  });

  it('SS-08: a 302 to the metadata address is not followed and fails with a typed error', async () => {
    let caught: unknown;
    try {
      await guard.fetch(upstream.url('/302-metadata'));
    } catch (error) {
      caught = error;
    }
    expect(isHubError(caught, 'HUB_ERR_EGRESS_FAILED')).toBe(true);
    expect((caught as Error).message).not.toContain('169.254');
  });

  it('SS-08: 301 and 303 are not followed either, even to the same origin', async () => {
    const before = upstream.requests.length;
    expect(await outcome(guard.fetch(upstream.url('/301-same')))).toBe('HUB_ERR_EGRESS_FAILED');
    expect(await outcome(guard.fetch(upstream.url('/303-same')))).toBe('HUB_ERR_EGRESS_FAILED');
    expect(upstream.requests.slice(before).map((seen) => seen.url)).toEqual(['/301-same', '/303-same']);
  });

  it('SS-08: a 307 to a refused address is blocked at that hop', async () => {
    expect(await outcome(guard.fetch(upstream.url('/307-canary')))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(await outcome(guard.fetch(upstream.url('/307-mapped')))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(await outcome(guard.fetch(upstream.url('/307-file')))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(await outcome(guard.fetch(upstream.url('/307-userinfo')))).toBe('HUB_ERR_EGRESS_DENIED');
  });

  it('SS-08: five same-origin 308s are followed; a chain of six fails', async () => {
    const ok = await guard.fetch(upstream.url('/hops/5'));
    expect(await ok.text()).toBe('arrived');
    expect(ok.redirected).toBe(true);
    expect(ok.url).toBe(upstream.url('/hops/0'));
    const before = upstream.requests.length;
    expect(await outcome(guard.fetch(upstream.url('/hops/6')))).toBe('HUB_ERR_EGRESS_FAILED');
    expect(upstream.requests.length - before).toBe(6);
  });

  it('a 307 keeps the method, body and, on the same origin, the Authorization header', async () => {
    const response = await guard.fetch(upstream.url('/307-echo'), {
      method: 'POST',
      headers: { authorization: 'Bearer same-origin' },
      body: '{"jsonrpc":"2.0"}',
    });
    expect(await response.text()).toBe('POST {"jsonrpc":"2.0"} Bearer same-origin');
    expect(upstream.requests.at(-1)?.url).toBe('/echo');
  });

  it('SS-15: a cross-origin 307 between two allowlisted servers drops Authorization and Cookie', async () => {
    const response = await guard.fetch(upstream.url('/307-other'), {
      method: 'POST',
      headers: {
        authorization: 'Bearer secret-token',
        cookie: 'session=secret-cookie',
        'proxy-authorization': 'Basic c2VjcmV0',
        'mcp-protocol-version': '2025-06-18',
      },
      body: '{}',
    });
    const seen = JSON.parse(await response.text()) as Record<string, string>;
    expect(seen.authorization).toBeUndefined();
    expect(seen.cookie).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['mcp-protocol-version']).toBe('2025-06-18');
    expect(other.requests.at(-1)?.method).toBe('POST');
  });

  it("redirect: 'manual' hands back the redirect itself; nothing is followed", async () => {
    const response = await guard.fetch(upstream.url('/302-metadata'), { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data/');
  });
});
