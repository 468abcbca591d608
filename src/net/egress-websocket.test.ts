import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { checkWebSocketUrl, webSocketTarget } from './egress-websocket.js';
import { type EgressGuard, createEgressGuard } from './index.js';
import { type Peer, loopbackDial, outcome, scriptedResolver, startPeer } from './test-peers.js';

/** What the fake DNS says: `rebind.test` is public the first time, loopback after (a rebinding attack). */
function answerFor(hostname: string, call: number): readonly string[] {
  switch (hostname) {
    case 'rebind.test':
      return call === 1 ? ['93.184.216.34'] : ['127.0.0.1'];
    case 'inside.test':
      return ['10.0.0.5'];
    case 'localhost':
      return ['127.0.0.1', '::1'];
    default:
      throw new Error(`getaddrinfo ENOTFOUND ${hostname}`);
  }
}

describe('dialWebSocket: refused destinations never open a socket', () => {
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
    expect(dialled).toEqual([]);
    expect(canary.requests).toEqual([]);
  });
  afterAll(async () => {
    await guard.close();
    await canary.close();
  });

  it.each([
    ['a loopback address', () => `ws://127.0.0.1:${canary.port}/mcp`],
    ['a loopback name', () => `ws://localhost:${canary.port}/mcp`],
    ['a private address over wss', () => 'wss://10.0.0.1/mcp'],
    ['a name resolving to a private address', () => 'ws://inside.test/mcp'],
    ['the metadata address', () => 'ws://169.254.169.254/'],
  ])('%s: HUB_ERR_EGRESS_DENIED', async (_name, url) => {
    expect(await outcome(guard.dialWebSocket(url()))).toBe('HUB_ERR_EGRESS_DENIED');
  });

  it.each([
    ['an http URL', 'http://example.com/mcp', 'only ws and wss URLs are'],
    ['credentials', 'ws://user:pw@example.com/mcp', 'may not carry credentials'],
    ['a fragment', 'wss://example.com/mcp#x', 'may not carry a fragment'],
    ['no URL at all', 'not a url', 'not a valid URL'],
  ])('%s: refused by the URL rules', async (_name, url, words) => {
    const error = await guard.dialWebSocket(url).catch((rejection: unknown) => rejection);
    expect(isHubError(error, 'HUB_ERR_EGRESS_DENIED')).toBe(true);
    expect((error as Error).message).toContain(words);
  });
});

describe('dialWebSocket: an allowed destination', () => {
  let peer: Peer;
  let guard: EgressGuard;
  let dialled: string[];
  let lookups: string[];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    peer = await startPeer();
    const trap = loopbackDial(peer.port);
    const dns = scriptedResolver(answerFor);
    dialled = trap.dialled;
    lookups = dns.calls;
    guard = createEgressGuard({ resolver: dns.resolver, dial: trap.dial });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await guard.close();
    await peer.close();
  });

  it('SS-07: the socket goes to the address checked in the one lookup; a rebound name is refused', async () => {
    const socket = await guard.dialWebSocket(`ws://rebind.test:${peer.port}/mcp`);
    sockets.push(socket);
    expect(lookups).toEqual(['rebind.test']);
    // The dial was handed the checked public address, never the name (the trap sends it to the peer).
    expect(dialled).toEqual(['93.184.216.34']);
    expect(socket.remotePort).toBe(peer.port);
    // The name now resolves to loopback, which nothing allowlists: refused before any socket.
    expect(await outcome(guard.dialWebSocket(`ws://rebind.test:${peer.port}/mcp`))).toBe(
      'HUB_ERR_EGRESS_DENIED',
    );
    expect(lookups).toEqual(['rebind.test', 'rebind.test']);
    expect(dialled).toEqual(['93.184.216.34']);
  });
});

describe('websocket URLs as the allowlist sees them', () => {
  it('ws and wss are judged as http and https, with their default ports', () => {
    const target = (url: string) => webSocketTarget(new URL(url));
    expect(target('ws://Example.com/mcp')).toEqual({ protocol: 'http:', hostname: 'example.com', port: 80 });
    expect(target('wss://example.com/mcp')).toEqual({
      protocol: 'https:',
      hostname: 'example.com',
      port: 443,
    });
    expect(target('wss://[::1]:8443/')).toEqual({ protocol: 'https:', hostname: '::1', port: 8443 });
  });

  it('checkWebSocketUrl keeps a good URL as it is', () => {
    expect(checkWebSocketUrl('wss://mcp.example.com/ws?x=1')).toMatchObject({
      ok: true,
      value: new URL('wss://mcp.example.com/ws?x=1'),
    });
  });
});
