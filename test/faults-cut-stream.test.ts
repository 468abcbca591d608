import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCutStreamServer,
  type CutStreamServer,
  type CutStreamTransport,
} from './peers/cut-stream-server.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * Issue 14, faults nobody tried: an HTTP upstream answering a call over SSE stops half-way through
 * the result, by closing the connection or by ending the response early. The SDK's streamable HTTP
 * client only reports such a stream to `onerror` and leaves the call waiting for its timeout
 * (504); the hub answers it in the stream's place instead: a 502 at once, nothing of the partial
 * answer, and the connection (shared by every user of an app-level server) goes on for the others.
 */
function hubWith(transport: CutStreamTransport) {
  const ctx = {} as { peer: CutStreamServer; hub: TestHub; alice: string; bob: string };
  beforeAll(async () => {
    ctx.peer = await startCutStreamServer(transport);
    ctx.hub = await startTestHub({
      yaml: `
mcpSettings:
  allowedDomains: ['127.0.0.1']
mcpServers:
  cut:
    type: ${transport}
    url: ${ctx.peer.url}
    # Well above a prompt answer: a call left waiting for it shows as a 504.
    timeout: 10000
`,
    });
    ctx.alice = await ctx.hub.userToken('alice@example.com');
    ctx.bob = await ctx.hub.userToken('bob@example.com');
  }, 60_000);
  afterAll(async () => {
    await ctx.hub?.dispose();
    await ctx.peer?.close();
  });
  const call = (token: string, name: string, args: Record<string, unknown> = {}) =>
    ctx.hub.app.inject({
      method: 'POST',
      url: `/api/mcp/cut/tools/${name}/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: args },
    });
  const expectCutAnswered = async (tool: string, cutsBefore: number): Promise<void> => {
    const cut = await call(ctx.alice, tool);
    expect(cut.statusCode, cut.body).toBe(502);
    expect(cut.json()).toMatchObject({ code: 'HUB_ERR_UPSTREAM_UNAVAILABLE' });
    expect(cut.body).not.toContain('zzzz');
    expect(ctx.peer.cuts).toBe(cutsBefore + 1);
  };
  const expectEcho = async (token: string, message: string): Promise<void> => {
    const res = await call(token, 'echo', { message });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe(`Echo: ${message}`);
  };
  return { ctx, call, expectCutAnswered, expectEcho };
}

describe('fault: a streamable HTTP upstream cutting its SSE answer half-way', () => {
  const { ctx, call, expectCutAnswered, expectEcho } = hubWith('streamable-http');

  it.each(['cut', 'end-early'])(
    '%s: the call answers 502 with a code, and the next calls work on the same connection (3 rounds)',
    async (tool) => {
      await expectEcho(ctx.alice, 'before');
      const sessions = ctx.peer.sessions;
      for (let round = 1; round <= 3; round += 1) {
        await expectCutAnswered(tool, ctx.peer.cuts);
        await expectEcho(ctx.alice, `after ${round}`);
      }
      // The cut failed calls, not the connection: the upstream was never reconnected to.
      expect(ctx.peer.sessions).toBe(sessions);
    },
    60_000,
  );

  it('on the shared connection the cut fails only its own call: another user’s call in flight completes', async () => {
    await expectEcho(ctx.bob, 'warm');
    const sessions = ctx.peer.sessions;
    const held = call(ctx.bob, 'hold');
    await expect.poll(() => ctx.peer.holding).toBe(1);
    await expectCutAnswered('cut', ctx.peer.cuts);
    // Only now does the upstream answer the other call: the connection must still be there for it.
    ctx.peer.release();
    const answer = await held;
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json<{ content: Array<{ text: string }> }>().content[0]!.text).toBe('Held');
    await expectEcho(ctx.alice, 'after the cut');
    expect(ctx.peer.sessions).toBe(sessions);
  }, 60_000);
});

describe('fault: a legacy SSE upstream cutting its session stream half-way through an answer', () => {
  const { ctx, expectCutAnswered, expectEcho } = hubWith('sse');

  it('the call answers 502 with a code, and the next call reconnects and works (3 rounds)', async () => {
    await expectEcho(ctx.alice, 'before');
    for (let round = 1; round <= 3; round += 1) {
      const sessions = ctx.peer.sessions;
      await expectCutAnswered('cut', ctx.peer.cuts);
      // The session's stream is the session: it is gone, and the next call opens another.
      await expectEcho(ctx.alice, `after ${round}`);
      expect(ctx.peer.sessions).toBe(sessions + 1);
    }
  }, 60_000);
});
