import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';

const STORM_SERVER = fileURLToPath(new URL('./peers/list-changed-storm-server.mjs', import.meta.url));
const CALLS = 100;

/**
 * Issue 14, faults nobody tried: a server that sends `notifications/tools/list_changed` before
 * every answer, its `tools/list` answers included. Each refresh the hub makes would trigger the
 * next; the hub's refreshes are coalesced and spaced, so the upstream sees a bounded number of
 * `tools/list` requests and calls keep working.
 */
describe('fault: a server answering every request with tools/list_changed', () => {
  let hub: TestHub;
  let token: string;

  const call = async (name: string, args: Record<string, unknown> = {}): Promise<string> => {
    const res = await hub.app.inject({
      method: 'POST',
      url: `/api/mcp/storm/tools/${name}/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: args },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ content: Array<{ text: string }> }>().content[0]!.text;
  };

  beforeAll(async () => {
    hub = await startTestHub({
      yaml: `
mcpServers:
  storm:
    type: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(STORM_SERVER)}]
`,
    });
    token = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  it(`${CALLS} calls: every one answered, and far fewer tools/list requests than notifications`, async () => {
    for (let i = 0; i < CALLS; i += 1) expect(await call('echo', { message: `m${i}` })).toBe(`Echo: m${i}`);
    const lists = Number(await call('list-count'));
    // Unbounded, each refresh's own notification starts the next one: thousands in the same time.
    expect(lists).toBeGreaterThan(0);
    expect(lists).toBeLessThan(CALLS / 4);
    // The tools are still listed.
    const listed = await hub.app.inject({
      method: 'GET',
      url: '/api/mcp/tools',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).toContain('echo');
  }, 60_000);
});
