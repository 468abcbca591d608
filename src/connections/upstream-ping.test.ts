import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCutStreamServer, type CutStreamServer } from '../../test/peers/cut-stream-server.js';
import { createLogger } from '../observability/index.js';
import { pingUpstream } from './upstream-ping.js';
import { PassThroughFetch } from './pass-through-fetch.js';

const logger = createLogger({ level: 'silent' });
const JSON_AND_SSE = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('pingUpstream through the fault watch', () => {
  let peer: CutStreamServer;
  beforeAll(async () => {
    peer = await startCutStreamServer();
  });
  afterAll(async () => {
    await peer?.close();
  });

  const watched = () => {
    const faults: Error[] = [];
    const stage = new PassThroughFetch(fetch, {
      maxResultBytes: 1024 * 1024,
      logger,
      onFault: (error) => faults.push(error),
      streamEndIsFault: false,
    });
    return { faults, fetch: stage.probe };
  };

  it('an upstream that is gone (connection refused) is a fault', async () => {
    const { faults, fetch: watchedFetch } = watched();
    await pingUpstream(
      watchedFetch,
      `http://127.0.0.1:${await closedPort()}/mcp`,
      { headers: JSON_AND_SSE },
      logger,
    );
    expect(faults).toHaveLength(1);
  });

  it('an upstream that forgot the session (404) is a fault', async () => {
    const { faults, fetch: watchedFetch } = watched();
    const headers = { ...JSON_AND_SSE, 'mcp-session-id': 'forgotten' };
    await pingUpstream(watchedFetch, peer.url, { headers }, logger);
    expect(faults).toHaveLength(1);
  });

  it('an upstream that answers on the session is none', async () => {
    const initialize = await fetch(peer.url, {
      method: 'POST',
      headers: JSON_AND_SSE,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    await initialize.text();
    const session = initialize.headers.get('mcp-session-id');
    expect(session).not.toBeNull();
    const { faults, fetch: watchedFetch } = watched();
    const headers = { ...JSON_AND_SSE, 'mcp-session-id': session!, 'mcp-protocol-version': '2025-06-18' };
    await pingUpstream(watchedFetch, peer.url, { headers }, logger);
    expect(faults).toEqual([]);
  });
});
