import { getEventListeners } from 'node:events';
import { request as undiciRequest } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { type EgressGuard, createEgressGuard } from './index.js';
import { type Peer, loopbackDial, scriptedResolver, startPeer, outcome } from './test-peers.js';

/** The HubError code a promise rejects with, or what it did instead. */
/** The answers of the fake DNS the refusal tests use. */
function answerFor(hostname: string): readonly string[] {
  switch (hostname) {
    case 'public.test':
      return ['93.184.216.34'];
    case 'mixed.test':
      return ['93.184.216.34', '127.0.0.1'];
    case 'inside.test':
      return ['93.184.216.34', '10.0.0.5'];
    case 'mapped.test':
      return ['::ffff:169.254.169.254'];
    case 'empty.test':
      return [];
    default:
      throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  }
}

describe('refused destinations: the canary listener gets zero requests', () => {
  let canary: Peer;
  let guard: EgressGuard;
  let dialled: string[];

  beforeAll(async () => {
    canary = await startPeer();
    const trap = loopbackDial(canary.port);
    dialled = trap.dialled;
    guard = createEgressGuard({ resolver: scriptedResolver(answerFor).resolver, dial: trap.dial });
  });

  afterEach(() => {
    expect(canary.requests).toHaveLength(0);
    expect(dialled).toEqual([]);
  });

  afterAll(async () => {
    await guard.close();
    await canary.close();
  });

  /** Refused by fetch (HUB_ERR_EGRESS_DENIED) and by checkUrl; returns fetch's error message. */
  async function expectRefused(url: string): Promise<string> {
    let message = '';
    try {
      await guard.fetch(url);
    } catch (error) {
      expect(isHubError(error, 'HUB_ERR_EGRESS_DENIED'), String(error)).toBe(true);
      expect((error as Error & { status: number }).status).toBe(403);
      message = (error as Error).message;
    }
    expect(message, `${url} was fetched`).not.toBe('');
    const checked = await guard.checkUrl(url);
    expect(checked).toMatchObject({ ok: false, code: 'HUB_ERR_EGRESS_DENIED' });
    return message;
  }

  it('SS-01: a loopback address', async () => {
    await expectRefused(`http://127.0.0.1:${canary.port}/`);
    await expectRefused(`http://localhost:${canary.port}/`);
  });

  it('SS-01: the same address is refused on every request, not only when its URL is first parsed', async () => {
    const url = `http://127.0.0.1:${canary.port}/mcp`;
    for (let i = 0; i < 3; i += 1) await expectRefused(url);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[fe80::1%25eth0]/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://10.0.0.1/',
    'http://192.168.1.1/',
    'http://[::1]/',
    'http://224.0.0.1/',
  ])('SS-02: private, link-local, CGNAT and unspecified: %s', async (url) => {
    await expectRefused(url);
  });

  it.each(['2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0x7f000001'])(
    'SS-03: encoded IPv4 http://%s:<canary>/ is normalised by the URL parser and refused',
    async (host) => {
      const url = `http://${host}:${canary.port}/`;
      expect(new URL(url).hostname).toBe('127.0.0.1');
      await expectRefused(url);
    },
  );

  it.each(['[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:7f00:1]', '[::ffff:a9fe:a9fe]'])(
    'SS-04: IPv4-mapped IPv6 %s is judged by its IPv4 address',
    async (host) => {
      await expectRefused(`http://${host}:${canary.port}/`);
    },
  );

  it.each([
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
    'http://[::7f00:1]/',
  ])('SS-05: NAT64, 6to4, Teredo and IPv4-compatible: %s', async (url) => {
    await expectRefused(url);
  });

  it('SS-06: one private record among public ones refuses the host', async () => {
    await expectRefused(`http://mixed.test:${canary.port}/`);
    await expectRefused('http://mapped.test/');
    const message = await expectRefused('http://inside.test/');
    // The message names the host only: no resolved address, no hint of what the name points at.
    expect(message).toBe('Destination not allowed: inside.test');
  });

  it('SS-06: a failed, empty or hung lookup refuses the host (fail closed)', async () => {
    expect(await expectRefused('http://nxdomain.test/')).toBe('Destination not allowed: nxdomain.test');
    await expectRefused('http://empty.test/');
    const hung = createEgressGuard({ resolver: () => new Promise(() => undefined), connectTimeoutMs: 50 });
    try {
      expect(await outcome(hung.fetch('http://slow.test/'))).toBe('HUB_ERR_EGRESS_DENIED');
    } finally {
      await hung.close();
    }
  });

  it.each([
    'javascript:alert(document.cookie)',
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    'ftp://public.test/',
    'ws://public.test/',
    'not a url',
  ])('refuses a URL that is not http(s): %s', async (url) => {
    await expectRefused(url);
  });

  it('SS-17: refuses credentials in the URL, even to a public host', async () => {
    const message = await expectRefused('http://user:pass@public.test/');
    expect(message).toContain('credentials');
    await expectRefused('http://user@public.test/');
  });

  it('SS-17: checkUrl refuses a fragment (fetch strips it, see below)', async () => {
    expect(await guard.checkUrl('http://public.test/#frag')).toMatchObject({ ok: false });
    expect(await guard.checkUrl('http://public.test/#')).toMatchObject({ ok: false });
    const clean = await guard.checkUrl('http://public.test/mcp');
    expect(clean.ok && clean.value.href).toBe('http://public.test/mcp');
  });

  it('the dispatcher alone refuses too, when used without the guarded fetch', async () => {
    for (const url of [`http://127.0.0.1:${canary.port}/`, `http://inside.test:${canary.port}/`]) {
      let caught: unknown;
      try {
        await undiciRequest(url, { dispatcher: guard.dispatcher });
      } catch (error) {
        caught = error;
      }
      expect(isHubError(caught, 'HUB_ERR_EGRESS_DENIED'), String(caught)).toBe(true);
    }
  });
});

describe('SS-07: DNS is resolved once per connection and the checked address is pinned', () => {
  it('connects to exactly the address it checked; a later answer cannot rebind the connection', async () => {
    const peer = await startPeer(undefined, '127.0.0.2');
    const dns = scriptedResolver((_hostname, call) => (call === 1 ? ['127.0.0.2'] : ['127.0.0.3']));
    const guard = createEgressGuard({ allowedDomains: ['127.0.0.0/8'], resolver: dns.resolver });
    try {
      const response = await guard.fetch(`http://rebind.test:${peer.port}/`);
      expect(await response.text()).toBe('ok');
      expect(dns.calls).toEqual(['rebind.test']);
      expect(peer.requests.map((seen) => seen.localAddress)).toEqual(['127.0.0.2']);
      expect(peer.requests[0]?.headers.host).toBe(`rebind.test:${peer.port}`);
    } finally {
      await guard.close();
      await peer.close();
    }
  });

  it('public on the first lookup, 127.0.0.1 on the second: the 127.0.0.1 listener is never hit', async () => {
    const canary = await startPeer();
    const standIn = await startPeer(); // plays the public server at 93.184.216.34
    const trap = loopbackDial(standIn.port);
    const dns = scriptedResolver((_hostname, call) => (call === 1 ? ['93.184.216.34'] : ['127.0.0.1']));
    const guard = createEgressGuard({ resolver: dns.resolver, dial: trap.dial });
    try {
      const response = await guard.fetch(`http://flip.test:${canary.port}/`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(dns.calls).toEqual(['flip.test']);
      expect(trap.dialled).toEqual(['93.184.216.34']);
      expect(standIn.requests).toHaveLength(1);
      expect(canary.requests).toHaveLength(0);
    } finally {
      await guard.close();
      await Promise.all([canary.close(), standIn.close()]);
    }
  });
});

describe('allowlisted destinations', () => {
  const localhost = scriptedResolver((hostname) => {
    if (hostname === 'localhost') return ['127.0.0.1'];
    throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  });

  it('request headers leave as fetch would send them, whether given as an object, a Headers or pairs', async () => {
    const peer = await startPeer();
    const guard = createEgressGuard({ allowedDomains: [`127.0.0.1:${peer.port}`] });
    const given = { 'X-Trimmed': ' \t v1 ', 'X-Twice': 'a', 'x-twice': 'b', 'X-Latin': 'é' };
    try {
      for (const headers of [given, new Headers(given), Object.entries(given)]) {
        const response = await guard.fetch(peer.url('/h'), { method: 'POST', headers, body: 'x' });
        await response.text();
      }
      const seen = peer.requests.map((request) => [
        request.headers['x-trimmed'],
        request.headers['x-twice'],
        request.headers['x-latin'],
        request.headers['content-type'],
      ]);
      // Node reads header bytes as latin1: é (0xE9) arrives as the one byte it was sent as.
      expect(seen).toEqual(Array(3).fill(['v1', 'a, b', 'é', 'text/plain;charset=UTF-8']));
      // What Headers refuses, the guard refuses before sending anything.
      for (const bad of [
        { 'x-bad': 'a\r\nb' },
        { 'x-bad': '😀' },
        { 'bad name': 'v' },
        { 'x-nul': 'a\0b' },
      ]) {
        expect(() => new Headers(bad)).toThrow(TypeError);
        await expect(guard.fetch(peer.url('/h'), { headers: bad })).rejects.toBeInstanceOf(TypeError);
      }
      expect(peer.requests).toHaveLength(3);
    } finally {
      await guard.close();
      await peer.close();
    }
  });

  it('reach an allowlisted loopback server, reusing one socket across requests (keep-alive)', async () => {
    const peer = await startPeer((_req, res, seen) => res.end(`${seen.method} ${seen.body}`));
    const guard = createEgressGuard({ allowedDomains: [`127.0.0.1:${peer.port}`] });
    try {
      const first = await guard.fetch(peer.url('/one'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t0k' },
        body: '{"a":1}',
      });
      expect(first.status).toBe(200);
      expect(first.url).toBe(peer.url('/one'));
      expect(await first.text()).toBe('POST {"a":1}');
      await new Promise((resolve) => setImmediate(resolve));
      const second = await guard.fetch(peer.url('/two'));
      expect(await second.text()).toBe('GET ');
      expect(peer.requests.map((seen) => seen.url)).toEqual(['/one', '/two']);
      expect(peer.requests[0]?.headers.authorization).toBe('Bearer t0k');
      expect(peer.requests[1]?.remotePort).toBe(peer.requests[0]?.remotePort);
    } finally {
      await guard.close();
      await peer.close();
    }
  });

  it('strips a fragment before sending, and leaves no listener on the caller signal', async () => {
    const peer = await startPeer();
    const guard = createEgressGuard({ allowedDomains: [`127.0.0.1:${peer.port}`] });
    const caller = new AbortController();
    try {
      const response = await guard.fetch(peer.url('/path?q=1#section'), { signal: caller.signal });
      expect(getEventListeners(caller.signal, 'abort').length).toBeGreaterThan(0);
      await response.text();
      expect(peer.requests[0]?.url).toBe('/path?q=1');
      expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    } finally {
      await guard.close();
      await peer.close();
    }
  });

  it('SS-14: `localhost:<port>` allows that port only; an https entry refuses http', async () => {
    const allowed = await startPeer();
    const other = await startPeer();
    const guard = createEgressGuard({
      allowedDomains: [`localhost:${allowed.port}`],
      resolver: localhost.resolver,
    });
    const httpsOnly = createEgressGuard({
      allowedDomains: [`https://localhost:${allowed.port}`],
      resolver: localhost.resolver,
    });
    try {
      const response = await guard.fetch(`http://localhost:${allowed.port}/`);
      expect(await response.text()).toBe('ok');
      expect(await outcome(guard.fetch(`http://localhost:${other.port}/`))).toBe('HUB_ERR_EGRESS_DENIED');
      // The entry names a host, not its address.
      expect(await outcome(guard.fetch(`http://127.0.0.1:${allowed.port}/`))).toBe('HUB_ERR_EGRESS_DENIED');
      expect(await outcome(httpsOnly.fetch(`http://localhost:${allowed.port}/`))).toBe(
        'HUB_ERR_EGRESS_DENIED',
      );
      expect(allowed.requests).toHaveLength(1);
      expect(other.requests).toHaveLength(0);
    } finally {
      await Promise.all([guard.close(), httpsOnly.close()]);
      await Promise.all([allowed.close(), other.close()]);
    }
  });

  it("reads LibreChat's allowedAddresses as host:port exemptions", async () => {
    const peer = await startPeer();
    const guard = createEgressGuard({
      allowedAddresses: [`localhost:${peer.port}`],
      resolver: localhost.resolver,
    });
    try {
      expect((await guard.fetch(`http://localhost:${peer.port}/`)).status).toBe(200);
      expect(await guard.checkUrl(`http://localhost:${peer.port + 1}/`)).toMatchObject({ ok: false });
    } finally {
      await guard.close();
      await peer.close();
    }
  });

  it('a network failure stays a TypeError, as transports expect', async () => {
    const gone = await startPeer();
    await gone.close();
    const guard = createEgressGuard({ allowedDomains: [`127.0.0.1:${gone.port}`] });
    try {
      let caught: unknown;
      try {
        await guard.fetch(`http://127.0.0.1:${gone.port}/`);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect(isHubError(caught)).toBe(false);
    } finally {
      await guard.close();
    }
  });
});
