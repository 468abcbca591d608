import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ForwardProxy, startForwardProxy } from '../src/net/forward-proxy-peer.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** `proxy` on an admin's server: the hub reaches it through that forward proxy, guard still on. */
describe('an admin server behind its outbound proxy', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let unreached: ProbeServer;
  let proxy: ForwardProxy;
  let refusedProxy: ForwardProxy;
  let admin: string;
  const basic = `Basic ${Buffer.from('relay-user:s3cret-pass').toString('base64')}`;
  // The proxies send every name to loopback: `*.internal` resolves nowhere else, so a call that
  // succeeds went through the proxy.
  const toLoopback = (hostPort: string) => ({ host: '127.0.0.1', port: Number(hostPort.split(':')[1]) });

  beforeAll(async () => {
    [probe, unreached] = await Promise.all([startProbeServer(), startProbeServer()]);
    [proxy, refusedProxy] = await Promise.all([
      startForwardProxy({ route: toLoopback, requireAuthorization: basic }),
      startForwardProxy({ route: toLoopback }),
    ]);
    const port = (server: ProbeServer) => new URL(server.url).port;
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1:${proxy.port}']
mcpServers:
  proxied:
    type: streamable-http
    url: http://probe.internal:${port(probe)}/mcp
    proxy: ${proxy.url('relay-user:s3cret-pass')}
  refused:
    type: streamable-http
    url: http://unreached.internal:${port(unreached)}/mcp
    proxy: ${refusedProxy.url()}
`,
    });
    await hub.startup.firstPass;
    admin = await hub.userToken('admin@example.com', 'ADMIN');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await Promise.all([probe?.stop(), unreached?.stop(), proxy?.close(), refusedProxy?.close()]);
  });

  async function echo(server: string): Promise<{ statusCode: number; body: string }> {
    const res = await hub.app.inject({
      method: 'POST',
      url: `/api/mcp/${server}/tools/echo/call`,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ arguments: { message: 'through the proxy' } }),
    });
    return { statusCode: res.statusCode, body: res.body };
  }

  it('connects and calls a tool through the proxy, with its credentials', async () => {
    const res = await echo('proxied');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('through the proxy');
    expect(proxy.connects.length).toBeGreaterThanOrEqual(1);
    expect(proxy.connects.every((hostPort) => hostPort === `probe.internal:${new URL(probe.url).port}`)).toBe(
      true,
    );
    expect(proxy.authorizations.every((given) => given === basic)).toBe(true);
    expect(proxy.tunnelledBytes()).toBeGreaterThan(0);
    // The proxy's credentials went to the proxy only, never inside the tunnel.
    expect(probe.lastHeaders().some((headers) => 'proxy-authorization' in headers)).toBe(false);
  });

  it("refuses a proxy at a non-public address the allowlist does not name: the guard's error, nothing reaches either", async () => {
    const res = await echo('refused');
    expect(res.statusCode).not.toBe(200);
    expect(res.body).toContain('HUB_ERR_EGRESS_DENIED');
    // The proxy's address was refused, not the target's name (which the hub never resolves).
    expect(res.body).toContain('Destination not allowed: 127.0.0.1');
    expect(res.body).not.toContain('unreached.internal');
    expect(refusedProxy.authorizations).toEqual([]);
    expect(unreached.requests).toBe(0);
  });

  it('never logs the proxy credentials', () => {
    const leaks = hub.logLines.filter(
      (line) =>
        line.includes('s3cret-pass') ||
        line.includes(Buffer.from('relay-user:s3cret-pass').toString('base64')),
    );
    expect(leaks).toEqual([]);
  });
});
