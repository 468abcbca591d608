import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/index.js';
import { PassThroughFetch } from './pass-through-fetch.js';
import type { RelatedRequestListener } from './related-requests.js';
import type { FetchLike } from './types.js';
import { ServerRequestRouter } from './server-requests.js';

const answer = (who: string) => () => Promise.resolve({ who });
const tag = (): (() => void) => () => undefined;

describe('ServerRequestRouter', () => {
  it('routes a request the stream related to a call to that call, among several', async () => {
    const router = new ServerRequestRouter();
    const [a, b] = [tag(), tag()];
    router.begin(a, answer('a'));
    router.begin(b, answer('b'));
    router.requestSent(1, a);
    router.requestSent(2, b);
    router.relate(100, 2);
    const route = router.route(100);
    expect(
      await route?.handle({ method: 'sampling/createMessage', params: {} }, AbortSignal.timeout(1000)),
    ).toEqual({ who: 'b' });
  });

  it('falls back to the single call in flight, and to nobody when there are several', () => {
    const router = new ServerRequestRouter();
    const end = router.begin(tag(), answer('only'));
    expect(router.route(7)).toBeDefined();
    router.begin(tag(), answer('second'));
    expect(router.route(8)).toBeUndefined();
    end();
    expect(router.route(9)).toBeDefined();
  });

  it('never guesses for a related request whose call already ended', () => {
    const router = new ServerRequestRouter();
    const [gone, other] = [tag(), tag()];
    const end = router.begin(gone, answer('gone'));
    router.requestSent(1, gone);
    router.begin(other, answer('other'));
    end();
    router.relate(50, 1);
    // `other` is now the only call in flight, but the request said it belongs to call 1.
    expect(router.route(50)).toBeUndefined();
  });

  it('on a connection bound to one session, sends what no call claims to that session', async () => {
    const completed: string[] = [];
    const router = new ServerRequestRouter({
      handle: answer('session'),
      onElicitationComplete: (params) => completed.push(params.elicitationId),
    });
    const ask = (id: number) =>
      router.route(id)?.handle({ method: 'roots/list', params: {} }, AbortSignal.timeout(1000));
    // No call in flight (roots/list as the upstream's session starts): the session's client.
    expect(await ask(1)).toEqual({ who: 'session' });
    // The single call in flight keeps its own requests (they travel on its stream).
    const endOnly = router.begin(tag(), answer('call'));
    expect(await ask(2)).toEqual({ who: 'call' });
    // Several calls of this session: none is guessed, the session is asked.
    router.begin(tag(), answer('other call'));
    expect(await ask(3)).toEqual({ who: 'session' });
    // A URL elicitation the session was sent: its completion notice goes to the session too.
    router.route(4)?.expectElicitationComplete('e-1');
    router.elicitationComplete({ elicitationId: 'e-1' });
    expect(completed).toEqual(['e-1']);
    endOnly();
  });

  it('hands a URL elicitation completion to the client that was sent it, once', () => {
    const router = new ServerRequestRouter();
    const seen: string[] = [];
    const end = router.begin(tag(), answer('x'), (params) => seen.push(params.elicitationId));
    router.route(1)?.expectElicitationComplete('e-1');
    end(); // the completion may come after the call
    router.elicitationComplete({ elicitationId: 'e-1' });
    router.elicitationComplete({ elicitationId: 'e-1' });
    router.elicitationComplete({ elicitationId: 'unknown' });
    expect(seen).toEqual(['e-1']);
  });
});

/** The transports' pass-through stage over `base`, seen for its related-request routing. */
function observeRelatedRequests(base: FetchLike, onRelatedRequest: RelatedRequestListener): FetchLike {
  return new PassThroughFetch(base, {
    maxResultBytes: 1024 * 1024,
    logger: createLogger({ level: 'silent' }),
    onFault: () => undefined,
    streamEndIsFault: false,
    onRelatedRequest,
  }).fetch;
}

describe('PassThroughFetch: related requests', () => {
  const sse = (chunks: string[]): Response =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
          controller.close();
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );

  it('reports each server request on a POST stream before the reader sees it; events pass whole', async () => {
    const request = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'sampling/createMessage', params: {} });
    const result = JSON.stringify({
      jsonrpc: '2.0',
      id: 4,
      result: { content: [], method: 'not a request' },
    });
    // Split mid-line and mid-CRLF, as a network would.
    const chunks = [
      `event: message\r\nid: 1\r\ndata: ${request.slice(0, 20)}`,
      `${request.slice(20)}\r`,
      `\n\r\n`,
    ];
    chunks.push(`data: ${result}\n\n`);
    const related: Array<[unknown, unknown]> = [];
    const fetch = observeRelatedRequests(
      () => Promise.resolve(sse(chunks)),
      (server, ours) => related.push([server, ours]),
    );
    const response = await fetch('http://127.0.0.1/mcp', {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x' } }),
    });
    if (response.body === null) throw new Error('no body');
    const reader = response.body.getReader();
    const text = (chunk: { value?: Uint8Array | undefined }): string => new TextDecoder().decode(chunk.value);
    const first = await reader.read();
    // The first read is the whole request event (its lines, CRLF kept), reported before it was read.
    expect(text(first)).toBe(`event: message\r\nid: 1\r\ndata: ${request}\r\n\n`);
    expect(related).toEqual([[9, 4]]);
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += text(chunk);
    expect(rest).toBe(chunks[3]);
    expect(related).toEqual([[9, 4]]);
  });

  it('leaves GET streams and JSON answers alone', async () => {
    const related: unknown[] = [];
    const fetch = observeRelatedRequests(
      (_url, init) =>
        Promise.resolve(
          init?.method === 'GET'
            ? sse(['data: {"jsonrpc":"2.0","id":1,"method":"roots/list"}\n\n'])
            : Response.json({ jsonrpc: '2.0', id: 1, result: {} }),
        ),
      (...args) => related.push(args),
    );
    await (await fetch('http://127.0.0.1/mcp', { method: 'GET' })).text();
    await (
      await fetch('http://127.0.0.1/mcp', { method: 'POST', body: '{"jsonrpc":"2.0","id":1,"method":"x"}' })
    ).text();
    expect(related).toEqual([]);
  });
});
