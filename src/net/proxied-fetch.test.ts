import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { type ForwardProxy, startForwardProxy } from './forward-proxy-peer.js';
import { type EgressGuard, createEgressGuard, redactProxyUrl } from './index.js';
import { type Peer, startPeer, outcome } from './test-peers.js';

describe('a guarded fetch through a forward proxy', () => {
  let target: Peer;
  let canary: Peer;
  let proxy: ForwardProxy;
  let guard: EgressGuard;

  beforeAll(async () => {
    canary = await startPeer();
    target = await startPeer((req, res, seen) => {
      if (req.url === '/307-canary') {
        res.writeHead(307, { location: `http://127.0.0.1:${canary.port}/` }).end();
        return;
      }
      if (req.url === '/307-named') {
        res.writeHead(307, { location: '/echo' }).end();
        return;
      }
      res.end(`${seen.method} ${seen.body} ${seen.headers['proxy-authorization'] ?? '-'}`);
    });
    // `target.internal` resolves nowhere but in the proxy: only a request through it can arrive.
    proxy = await startForwardProxy({
      route: (hostPort) => ({ host: '127.0.0.1', port: Number(hostPort.split(':')[1]) }),
      requireAuthorization: `Basic ${Buffer.from('user:s3cret').toString('base64')}`,
    });
  });
  afterAll(async () => {
    await Promise.all([target.close(), canary.close(), proxy.close()]);
  });
  afterEach(async () => {
    await guard.close();
  });

  const proxyEntry = (): string => `127.0.0.1:${proxy.port}`;

  it('reaches a target only the proxy can resolve, with the credentials of the proxy URL sent to it only', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), {});
    const before = proxy.connects.length;
    const response = await fetch(`http://target.internal:${target.port}/echo`, {
      method: 'POST',
      body: 'hi',
    });
    expect(await response.text()).toBe('POST hi -');
    expect(proxy.connects.slice(before)).toEqual([`target.internal:${target.port}`]);
    expect(proxy.tunnelledBytes()).toBeGreaterThan(0);
  });

  it('follows a 307 inside the proxy, re-checking the hop', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), {});
    const response = await fetch(`http://target.internal:${target.port}/307-named`);
    expect(await response.text()).toBe('GET  -');
    expect(response.redirected).toBe(true);
  });

  it('refuses a proxy at a non-public address that is not allowlisted, and the proxy hears nothing', async () => {
    guard = createEgressGuard();
    const before = proxy.authorizations.length;
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), {});
    expect(await outcome(fetch(`http://target.internal:${target.port}/echo`))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(proxy.authorizations.length).toBe(before);
  });

  it('refuses a non-public address literal as the target, and a redirect to one, before the proxy carries it', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), {});
    const canaryBefore = canary.requests.length;
    const connectsBefore = proxy.connects.length;
    expect(await outcome(fetch(`http://127.0.0.1:${canary.port}/`))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(proxy.connects.length).toBe(connectsBefore);
    expect(await outcome(fetch(`http://target.internal:${target.port}/307-canary`))).toBe(
      'HUB_ERR_EGRESS_DENIED',
    );
    expect(canary.requests.length).toBe(canaryBefore);
  });

  it('keeps the URL rules for the target: no credentials, only http(s)', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), {});
    expect(await outcome(fetch(`http://a:b@target.internal:${target.port}/`))).toBe('HUB_ERR_EGRESS_DENIED');
    expect(await outcome(fetch('file:///etc/passwd'))).toBe('HUB_ERR_EGRESS_DENIED');
  });

  it('keeps the size cap', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:s3cret'), { maxResponseBytes: 4 });
    expect(await outcome(fetch(`http://target.internal:${target.port}/echo`))).toBe('HUB_ERR_EGRESS_FAILED');
  });

  it('fails, without the credentials in the error, when the proxy refuses them', async () => {
    guard = createEgressGuard({ allowedDomains: [proxyEntry()] });
    const fetch = guard.viaProxy(proxy.url('user:wrong'), {});
    const error = await fetch(`http://target.internal:${target.port}/echo`).then(
      () => undefined,
      (thrown: unknown) => thrown as Error,
    );
    // A network failure, as fetch reports one; the proxy's status is in the cause.
    expect(error).toBeInstanceOf(TypeError);
    const cause = String((error?.cause as Error | undefined)?.message);
    expect(cause).toContain('407');
    expect(`${error?.message} ${cause}`).not.toContain('wrong');
  });

  it('accepts only http and https proxies', () => {
    guard = createEgressGuard();
    let thrown: unknown;
    try {
      guard.viaProxy('socks5://user:pw@127.0.0.1:1080', {});
    } catch (error) {
      thrown = error;
    }
    expect(isHubError(thrown) && thrown.code).toBe('HUB_ERR_EGRESS_DENIED');
    expect(String((thrown as Error).message)).not.toContain('pw');
  });

  it('redacts a proxy URL to its scheme, host and port', () => {
    expect(redactProxyUrl('http://user:s3cret@proxy.example.com:3128/path')).toBe(
      'http://proxy.example.com:3128',
    );
  });
});
