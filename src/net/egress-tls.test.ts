import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { createEgressGuard } from './index.js';
import { scriptedResolver } from './test-peers.js';

// A self-signed certificate for `pinned.test` only, made for this test (its key protects nothing).
const cert = readFileSync(new URL('./fixtures/pinned-test-cert.pem', import.meta.url), 'utf8');
const key = readFileSync(new URL('./fixtures/pinned-test-key.pem', import.meta.url), 'utf8');

describe('SS-07 over TLS', () => {
  it('connects to the pinned address yet sends SNI for, and verifies the certificate against, the URL host', async () => {
    const servernames: unknown[] = [];
    const server = createServer({ key, cert }, (req, res) => {
      servernames.push((req.socket as TLSSocket).servername); // an https server's sockets are TLSSockets
      res.end('tls ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo; // listen() on a host and port yields AddressInfo
    const dns = scriptedResolver(() => ['127.0.0.1']);
    const guard = createEgressGuard({
      allowedDomains: ['pinned.test', 'impostor.test'],
      resolver: dns.resolver,
      // Trust the test certificate; verification itself stays on.
      dial: buildConnector({ ca: cert, timeout: 2_000 }),
    });
    try {
      const response = await guard.fetch(`https://pinned.test:${port}/`);
      expect(await response.text()).toBe('tls ok');
      expect(servernames).toEqual(['pinned.test']);
      expect(dns.calls).toEqual(['pinned.test']);

      // Same address, another name: the certificate does not match it, so the request fails.
      let caught: unknown;
      try {
        await guard.fetch(`https://impostor.test:${port}/`);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TypeError);
      expect(isHubError(caught)).toBe(false);
      expect(((caught as Error).cause as { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      await guard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
