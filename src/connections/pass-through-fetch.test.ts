import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/index.js';
import { PassThroughFetch } from './pass-through-fetch.js';
import { RESULT_TOO_LARGE_CODE } from './result-limit.js';
import type { FetchLike } from './types.js';

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

/** The pass-through stage over `base`, as the transports build it, seen for its result cap. */
function capResults(
  base: FetchLike,
  maxResultBytes: number,
  log: typeof logger,
  onUnanswered?: (url: string | URL, init: RequestInit) => void,
): FetchLike {
  return new PassThroughFetch(base, {
    maxResultBytes,
    logger: log,
    onFault: () => undefined,
    streamEndIsFault: false,
    ...(onUnanswered ? { onUnanswered } : {}),
  }).fetch;
}

describe('PassThroughFetch: the result cap', () => {
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

  describe('a POST’s event stream that stops before its answer', () => {
    const sse = (body: ReadableStream<Uint8Array>) => async () =>
      new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    const partial = 'event: message\ndata: {"result":{"t":"zzzz';

    it('ending: the unfinished event is dropped, a connection-closed error answers, and the owner hears', async () => {
      const cuts: string[] = [];
      const fetch = capResults(sse(endingBody([partial])), LIMIT, logger, (url) => cuts.push(String(url)));
      const text = await (await fetch('http://127.0.0.1/mcp', POST)).text();
      expect(text).not.toContain('zzzz');
      expect(dataOf(text)).toMatchObject([{ id: 4, error: { code: ErrorCode.ConnectionClosed } }]);
      expect(cuts).toEqual(['http://127.0.0.1/mcp']);
    });

    it('breaking: the same, and the stream ends cleanly instead of failing', async () => {
      const fetch = capResults(sse(breakingBody(partial)), LIMIT, logger);
      const text = await (await fetch('http://127.0.0.1/mcp', POST)).text();
      expect(text).not.toContain('zzzz');
      expect(dataOf(text)).toMatchObject([{ id: 4, error: { code: ErrorCode.ConnectionClosed } }]);
    });

    it('answered, or resumable (an event id), or aborted by the transport: passed on as it is', async () => {
      const answered = 'event: message\ndata: {"result":{},"jsonrpc":"2.0","id":4}\n\n';
      const cuts: string[] = [];
      const onCut = (url: string | URL): void => void cuts.push(String(url));
      const one = capResults(sse(endingBody([answered])), LIMIT, logger, onCut);
      expect(dataOf(await (await one('http://127.0.0.1/mcp', POST)).text())).toMatchObject([{ id: 4 }]);

      const primed = 'id: 1-a\ndata: \n\n';
      const two = capResults(sse(endingBody([primed, partial])), LIMIT, logger, onCut);
      // The SDK resumes this stream itself (Last-Event-ID): its unfinished event passes as before.
      const resumable = await (await two('http://127.0.0.1/mcp', POST)).text();
      expect(resumable.startsWith(primed + partial)).toBe(true);
      expect(resumable).not.toContain('"error"');

      const aborted = AbortSignal.abort();
      const three = capResults(sse(breakingBody(partial)), LIMIT, logger, onCut);
      const response = await three('http://127.0.0.1/mcp', { ...POST, signal: aborted });
      await expect(response.text()).rejects.toThrow('terminated');
      expect(cuts).toEqual([]);
    });
  });

  it('a POST of 1 MB: its id is read at its ends, never by parsing it whole, and a cut stream still answers it', async () => {
    const posted = JSON.stringify({
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'x'.repeat(1_000_000) } },
      jsonrpc: '2.0',
      id: 9,
    });
    const parse = JSON.parse.bind(JSON);
    const parsedLengths: number[] = [];
    vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof parse>[1]) => {
      parsedLengths.push(text.length);
      return parse(text, reviver) as unknown;
    });
    const upstream = async () =>
      new Response(endingBody(['event: message\ndata: {"result":{"t":"zz']), {
        headers: { 'content-type': 'text/event-stream' },
      });
    try {
      const text = await (
        await capResults(upstream, LIMIT, logger)('http://127.0.0.1/mcp', { method: 'POST', body: posted })
      ).text();
      expect(Math.max(0, ...parsedLengths)).toBeLessThan(64 * 1024);
      expect(dataOf(text)).toMatchObject([{ id: 9, error: { code: ErrorCode.ConnectionClosed } }]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('any other body fails to read past the limit', async () => {
    const upstream = upstreamBody(['y'.repeat(4 * LIMIT)]);
    const fetch = capResults(async () => new Response(upstream.body, { status: 500 }), LIMIT, logger);
    await expect((await fetch('http://127.0.0.1/mcp')).text()).rejects.toThrow('1024-byte limit');
    expect(upstream.cancelled()).toBe(true);
  });
});

/** A body sending `chunks`, then ending. */
function endingBody(chunks: string[]): ReadableStream<Uint8Array> {
  const queue = [...chunks];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
  });
}

/** A body sending `chunk`, then failing as a socket closed under it. */
function breakingBody(chunk: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent) controller.error(new TypeError('terminated', { cause: new Error('socket closed') }));
      else controller.enqueue(new TextEncoder().encode(chunk));
      sent = true;
    },
  });
}

/** The JSON of every `data:` line of an event stream. */
function dataOf(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as unknown);
}

describe('PassThroughFetch: a connection the upstream closed before answering', () => {
  /** A base failing as undici does (fetch's TypeError over the socket's error), then answering. */
  function failingOnce(cause: Error): { base: FetchLike; calls: () => number } {
    let calls = 0;
    const base: FetchLike = async () => {
      calls += 1;
      if (calls === 1) throw new TypeError('fetch failed', { cause });
      return new Response('{"jsonrpc":"2.0","id":4,"result":{}}', {
        headers: { 'content-type': 'application/json' },
      });
    };
    return { base, calls: () => calls };
  }
  const socketError = (code: string): Error => Object.assign(new Error(code), { code });
  const stage = (base: FetchLike, faults: Error[]): FetchLike =>
    new PassThroughFetch(base, {
      maxResultBytes: LIMIT,
      logger,
      onFault: (error) => faults.push(error),
      streamEndIsFault: false,
    }).fetch;

  it.each(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])(
    '%s: the request is sent once more, and its answer is no fault',
    async (code) => {
      const upstream = failingOnce(socketError(code));
      const faults: Error[] = [];
      const response = await stage(upstream.base, faults)('http://127.0.0.1/mcp', POST);
      expect(await response.json()).toMatchObject({ id: 4, result: {} });
      expect(upstream.calls()).toBe(2);
      expect(faults).toEqual([]);
    },
  );

  it('a refused connection is not resent, and is a fault', async () => {
    const upstream = failingOnce(socketError('ECONNREFUSED'));
    const faults: Error[] = [];
    await expect(stage(upstream.base, faults)('http://127.0.0.1/mcp', POST)).rejects.toThrow('fetch failed');
    expect(upstream.calls()).toBe(1);
    expect(faults).toHaveLength(1);
  });

  it('a second close is a fault (one resend only)', async () => {
    let calls = 0;
    const faults: Error[] = [];
    const base: FetchLike = () => {
      calls += 1;
      return Promise.reject(new TypeError('fetch failed', { cause: socketError('ECONNRESET') }));
    };
    await expect(stage(base, faults)('http://127.0.0.1/mcp', POST)).rejects.toThrow('fetch failed');
    expect(calls).toBe(2);
    expect(faults).toHaveLength(1);
  });

  it('a body that cannot be sent again (a stream) is not resent', async () => {
    const upstream = failingOnce(socketError('ECONNRESET'));
    const faults: Error[] = [];
    const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
    await expect(
      stage(upstream.base, faults)('http://127.0.0.1/mcp', { method: 'POST', body, duplex: 'half' }),
    ).rejects.toThrow('fetch failed');
    expect(upstream.calls()).toBe(1);
  });

  it('a request the transport aborted is not resent', async () => {
    const abort = new AbortController();
    let calls = 0;
    const base: FetchLike = () => {
      calls += 1;
      abort.abort();
      return Promise.reject(new TypeError('fetch failed', { cause: socketError('ECONNRESET') }));
    };
    await expect(stage(base, [])('http://127.0.0.1/mcp', { ...POST, signal: abort.signal })).rejects.toThrow(
      'fetch failed',
    );
    expect(calls).toBe(1);
  });
});
