import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialCounters } from '../src/credentials/index.js';
import { resolutionCount } from '../src/registry/index.js';
import { startProbeServer, type ProbeServer } from './peers/probe-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * Issue 15 (lean hot path): a server's spec is resolved once per (server version, the caller's
 * variables) and reused; the caller's variables are read and decrypted once, not on every call.
 */
describe('hot path: spec resolution and user variables', () => {
  let hub: TestHub;
  let probe: ProbeServer;
  let alice: string;

  beforeAll(async () => {
    probe = await startProbeServer();
    hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  keyed:
    type: streamable-http
    url: ${probe.url}
    headers: { X-Api-Key: "{{API_TOKEN}}" }
    customUserVars:
      API_TOKEN: { title: Token, description: Your token }
`,
    });
    alice = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
    await probe?.stop();
  });

  const setToken = async (value: string): Promise<void> => {
    const res = await hub.app.inject({
      method: 'PUT',
      url: '/api/mcp/keyed/auth-values',
      headers: { authorization: `Bearer ${alice}` },
      payload: { values: { API_TOKEN: value } },
    });
    expect(res.statusCode, res.body).toBe(200);
  };

  /** Calls the probe's `whoami`; it answers with the headers its own request carried. */
  const sentKey = async (): Promise<unknown> => {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/mcp/keyed/tools/whoami/call',
      headers: { authorization: `Bearer ${alice}` },
      payload: { arguments: {} },
    });
    expect(res.statusCode, res.body).toBe(200);
    const seen = JSON.parse(res.json<{ content: Array<{ text: string }> }>().content[0]!.text) as Record<
      string,
      string
    >;
    return seen['x-api-key'];
  };

  it('N calls resolve the spec once; after a user-variable change, once more (with the new value)', async () => {
    await setToken('first');
    const before = resolutionCount();
    for (let i = 0; i < 8; i += 1) expect(await sentKey()).toBe('first');
    expect(resolutionCount() - before).toBe(1);

    await setToken('second');
    for (let i = 0; i < 8; i += 1) expect(await sentKey()).toBe('second');
    expect(resolutionCount() - before).toBe(2);
  });

  it('warm calls read no stored variables and decrypt nothing', async () => {
    await sentKey();
    const before = credentialCounters();
    for (let i = 0; i < 8; i += 1) await sentKey();
    expect(credentialCounters()).toEqual(before);
  });
});
