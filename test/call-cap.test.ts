import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * Finding 4 of issue 14: a tool that keeps sending progress never timed out, since progress restarts
 * the request timeout. `maxCallDuration` bounds a call in total, whatever the progress.
 */
describe('maxCallDuration: a total bound on a call, even with progress', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let base: string;
  let alice: string;

  beforeAll(async () => {
    probe = await startProbeServer();
    // `timeout` (300 ms) is far longer than the probe's progress interval (100 ms): only the total
    // bound can end a ten-minute `slow` call. `capped` sets its own bound; `hubwide` takes mcpSettings'.
    hub = await startTestHub({
      yaml: `
mcpSettings:
  maxCallDuration: 1200
mcpServers:
  capped:
    type: streamable-http
    url: ${probe.url}
    timeout: 300
    maxCallDuration: 800
  hubwide:
    type: streamable-http
    url: ${probe.url}
    timeout: 300
`,
    });
    await hub.startup?.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    alice = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  async function callSlow(
    server: string,
    ms: number,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${base}/api/mcp/${server}/tools/slow/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { ms } }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it.each([
    ['capped', 800],
    ['hubwide', 1200],
  ])(
    '%s: a call that reports progress forever ends with a 504 naming maxCallDuration, and is cancelled upstream',
    async (server, limitMs) => {
      const aborted = probe.abortedCalls;
      const answer = await callSlow(server, 600_000);
      expect(answer.status).toBe(504);
      expect(answer.body).toMatchObject({
        code: 'HUB_ERR_UPSTREAM_TIMEOUT',
        limit: 'maxCallDuration',
        limitMs,
      });
      expect(String(answer.body.error)).toContain('maxCallDuration');
      await expect.poll(() => probe.abortedCalls).toBe(aborted + 1);
    },
  );

  it('a call within the bound, kept alive by progress past its timeout, still succeeds', async () => {
    const answer = await callSlow('hubwide', 500);
    expect(answer.status).toBe(200);
    expect(JSON.stringify(answer.body)).toContain('Slept 500 ms');
  });
});
