import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/index.js';
import { capResults } from './result-capped-fetch.js';
import { RESULT_TOO_LARGE_CODE } from './result-limit.js';

const logger = createLogger({ level: 'silent' });
const LIMIT = 1024;
const POST = { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call' }) };

/** An upstream body that records whether it was cancelled, sending `chunks` then staying open. */
function upstreamBody(chunks: string[]): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  const queue = [...chunks];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next !== undefined) controller.enqueue(new TextEncoder().encode(next));
      // Past its chunks the body stays open, like a server still writing a huge result.
      else return new Promise(() => undefined);
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

describe('capResults', () => {
  it('a JSON answer declared past the limit is replaced by the error response, unread', async () => {
    const upstream = upstreamBody(['{"result":']);
    const fetch = capResults(
      async () =>
        new Response(upstream.body, {
          headers: { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) },
        }),
      LIMIT,
      logger,
    );
    const answer = (await (await fetch('http://127.0.0.1/mcp', POST)).json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ id: 4, error: { code: RESULT_TOO_LARGE_CODE } });
    expect(upstream.cancelled()).toBe(true);
  });

  it('on a POST’s event stream, an oversized event ends the stream with the error and cancels upstream', async () => {
    const upstream = upstreamBody(['event: message\ndata: {"result":{"t":"', 'x'.repeat(4 * LIMIT)]);
    const fetch = capResults(
      async () => new Response(upstream.body, { headers: { 'content-type': 'text/event-stream' } }),
      LIMIT,
      logger,
    );
    const text = await (await fetch('http://127.0.0.1/mcp', POST)).text();
    expect(text).toContain(`"code":${RESULT_TOO_LARGE_CODE}`);
    expect(text).toContain('"id":4');
    expect(upstream.cancelled()).toBe(true);
  });

  it('any other body fails to read past the limit', async () => {
    const upstream = upstreamBody(['y'.repeat(4 * LIMIT)]);
    const fetch = capResults(async () => new Response(upstream.body, { status: 500 }), LIMIT, logger);
    await expect((await fetch('http://127.0.0.1/mcp')).text()).rejects.toThrow('1024-byte limit');
    expect(upstream.cancelled()).toBe(true);
  });
});
