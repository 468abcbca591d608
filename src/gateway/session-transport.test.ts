import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CollectedReply, MAX_NOTIFICATION_BACKLOG_BYTES, type HttpReply } from './http-reply.js';
import { SessionTransport, type SessionRequest } from './session-transport.js';

const SESSION = 'session-1';
const BOTH = 'application/json, text/event-stream';

/** A reply that keeps what was written, and can be made to lose its client. */
class RecordedReply implements HttpReply {
  status = 0;
  headers: Readonly<Record<string, string>> = {};
  body = '';
  flushed = false;
  ended = false;
  /** What the client has not read yet, as the test sets it. */
  backlog = 0;
  private gone = false;
  private goneListener: (() => void) | undefined;

  head(status: number, headers: Readonly<Record<string, string>>): void {
    this.status = status;
    this.headers = headers;
  }
  flush(): void {
    this.flushed = true;
  }
  write(text: string): void {
    this.body += text;
  }
  end(text?: string): void {
    if (text !== undefined) this.body += text;
    this.ended = true;
  }
  get open(): boolean {
    return !this.ended && !this.gone;
  }
  onGone(listener: () => void): void {
    this.goneListener = listener;
  }
  /** The client hangs up. */
  hangUp(): void {
    this.gone = true;
    this.goneListener?.();
  }
  events(): JSONRPCMessage[] {
    return this.body
      .split('\n')
      .filter((line) => line.startsWith('data: '))
      .map((line) => JSON.parse(line.slice(6)) as JSONRPCMessage);
  }
}

function request(method: string, body?: unknown, headers: Record<string, string> = {}): SessionRequest {
  const all = { accept: BOTH, 'content-type': 'application/json', 'mcp-session-id': SESSION, ...headers };
  return { method, headers: all, forwarded: all, body };
}

const initialize = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};
const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } });

/** A transport past its `initialize`, with every message it hands on kept. */
async function initialized(options: { quietMs?: number } = {}) {
  const received: JSONRPCMessage[] = [];
  const transport = new SessionTransport({
    sessionId: SESSION,
    quietMs: options.quietMs ?? 1_000,
    keepAliveMs: 15_000,
  });
  transport.onmessage = (message) => received.push(message);
  await transport.start();
  const reply = new CollectedReply();
  await transport.handle(request('POST', initialize, { 'mcp-session-id': '' }), reply);
  await transport.send({ jsonrpc: '2.0', id: 0, result: { protocolVersion: '2025-11-25' } });
  expect((await reply.done).status).toBe(200);
  return { transport, received };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SessionTransport', () => {
  it('answers an initialize with JSON and its session id, then refuses a second one', async () => {
    const transport = new SessionTransport({ sessionId: SESSION, quietMs: 1_000, keepAliveMs: 15_000 });
    const onInitialized = vi.fn();
    const withHook = new SessionTransport({
      sessionId: SESSION,
      quietMs: 1_000,
      keepAliveMs: 15_000,
      onInitialized,
    });
    const first = new RecordedReply();
    await withHook.handle(request('POST', initialize, {}), first);
    expect(onInitialized).toHaveBeenCalledOnce();
    expect(withHook.sessionId).toBe(SESSION);
    await withHook.send({ jsonrpc: '2.0', id: 0, result: {} });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['mcp-session-id']).toBe(SESSION);
    expect(Number(first.headers['content-length'])).toBe(Buffer.byteLength(first.body));
    expect(JSON.parse(first.body)).toEqual({ jsonrpc: '2.0', id: 0, result: {} });

    const again = new RecordedReply();
    await withHook.handle(request('POST', initialize), again);
    expect(again.status).toBe(400);
    expect(JSON.parse(again.body)).toEqual({
      jsonrpc: '2.0',
      error: { code: -32600, message: 'Invalid Request: Server already initialized' },
      id: null,
    });
    // Before its initialize, a session takes nothing else.
    const early = new RecordedReply();
    await transport.handle(request('POST', call(1)), early);
    expect(early.status).toBe(400);
    expect(early.body).toContain('Server not initialized');
  });

  it.each([
    ['an Accept without text/event-stream', request('POST', call(1), { accept: 'application/json' }), 406],
    ['a body that is not JSON', request('POST', call(1), { 'content-type': 'text/plain' }), 415],
    ['no session id', request('POST', call(1), { 'mcp-session-id': '' }), 400],
    ['another session id', request('POST', call(1), { 'mcp-session-id': 'other' }), 404],
    ['an unknown protocol version', request('POST', call(1), { 'mcp-protocol-version': '1999-01-01' }), 400],
    ['a message that is not JSON-RPC', request('POST', { jsonrpc: '1.0', id: 1 }), 400],
    [
      'a batch over 100 messages',
      request(
        'POST',
        Array.from({ length: 101 }, (_, i) => call(i)),
      ),
      400,
    ],
    ['a GET without text/event-stream', request('GET', undefined, { accept: 'application/json' }), 406],
    ['a PUT', request('PUT'), 405],
  ])('refuses %s with a JSON-RPC error and hands nothing on (IV-12)', async (_what, refused, status) => {
    const { transport, received } = await initialized();
    const before = received.length;
    const reply = new RecordedReply();
    await transport.handle(refused, reply);
    expect(reply.status).toBe(status);
    expect(reply.ended).toBe(true);
    const body = JSON.parse(reply.body) as { jsonrpc: string; id: null; error: { message: string } };
    expect(body.jsonrpc).toBe('2.0');
    expect(body.id).toBeNull();
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(received.length).toBe(before);
  });

  it('takes notifications and responses with 202 and no body', async () => {
    const { transport, received } = await initialized();
    const reply = new RecordedReply();
    await transport.handle(request('POST', { jsonrpc: '2.0', method: 'notifications/initialized' }), reply);
    expect(reply.status).toBe(202);
    expect(reply.body).toBe('');
    expect(received.at(-1)).toMatchObject({ method: 'notifications/initialized' });
  });

  it('answers a batch with one JSON array once every request has its response', async () => {
    const { transport } = await initialized();
    const reply = new RecordedReply();
    await transport.handle(request('POST', [call(1), call(2)]), reply);
    await transport.send({ jsonrpc: '2.0', id: 2, result: { n: 2 } });
    expect(reply.ended).toBe(false);
    await transport.send({ jsonrpc: '2.0', id: 1, result: { n: 1 } });
    expect(reply.ended).toBe(true);
    expect(JSON.parse(reply.body)).toEqual([
      { jsonrpc: '2.0', id: 1, result: { n: 1 } },
      { jsonrpc: '2.0', id: 2, result: { n: 2 } },
    ]);
  });

  it('turns into an SSE stream when a related message comes first, and ends it after the response', async () => {
    const { transport } = await initialized();
    const reply = new RecordedReply();
    await transport.handle(request('POST', call(3)), reply);
    const progress = { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progress: 1 } };
    await transport.send(progress, { relatedRequestId: 3 });
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.ended).toBe(false);
    await transport.send({ jsonrpc: '2.0', id: 3, result: {} });
    expect(reply.ended).toBe(true);
    expect(reply.events()).toEqual([progress, { jsonrpc: '2.0', id: 3, result: {} }]);
    // The request is answered: nothing more can be sent for it.
    await expect(transport.send(progress, { relatedRequestId: 3 })).rejects.toThrow(/No connection/);
  });

  it('sends the SSE headers alone once a call stays quiet, then its answer as an event', async () => {
    vi.useFakeTimers();
    const { transport } = await initialized({ quietMs: 500 });
    const reply = new RecordedReply();
    await transport.handle(request('POST', call(4)), reply);
    expect(reply.status).toBe(0);
    vi.advanceTimersByTime(500);
    expect(reply.status).toBe(200);
    expect(reply.flushed).toBe(true);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    await transport.send({ jsonrpc: '2.0', id: 4, result: { late: true } });
    expect(reply.events()).toEqual([{ jsonrpc: '2.0', id: 4, result: { late: true } }]);
    expect(reply.ended).toBe(true);
  });

  it('writes nothing for a client that hung up, and forgets its requests', async () => {
    const { transport } = await initialized();
    const reply = new RecordedReply();
    await transport.handle(request('POST', call(5)), reply);
    reply.hangUp();
    await expect(transport.send({ jsonrpc: '2.0', id: 5, result: {} })).rejects.toThrow(/No connection/);
    expect(reply.body).toBe('');
  });

  it('keeps one GET stream per session for messages related to no request', async () => {
    const { transport } = await initialized();
    const stream = new RecordedReply();
    await transport.handle(request('GET', undefined, { accept: 'text/event-stream' }), stream);
    expect(stream.status).toBe(200);
    expect(stream.flushed).toBe(true);
    const second = new RecordedReply();
    await transport.handle(request('GET', undefined, { accept: 'text/event-stream' }), second);
    expect(second.status).toBe(409);
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    await transport.send(changed);
    expect(stream.events()).toEqual([changed]);
    await expect(transport.send({ jsonrpc: '2.0', id: 9, result: {} }, {})).rejects.toThrow(/No connection/);
    transport.closeStandaloneSSEStream();
    expect(stream.ended).toBe(true);
    const third = new RecordedReply();
    await transport.handle(request('GET', undefined, { accept: 'text/event-stream' }), third);
    expect(third.status).toBe(200);
  });

  it('ends on DELETE: told first, then every open answer ends and later requests find no session', async () => {
    const onEnded = vi.fn();
    const transport = new SessionTransport({
      sessionId: SESSION,
      quietMs: 1_000,
      keepAliveMs: 15_000,
      onEnded,
    });
    const closed = vi.fn();
    transport.onclose = closed;
    await transport.handle(request('POST', initialize, {}), new RecordedReply());
    const pending = new RecordedReply();
    await transport.handle(request('POST', call(6)), pending);
    const deleted = new RecordedReply();
    await transport.handle(request('DELETE'), deleted);
    expect(onEnded).toHaveBeenCalledOnce();
    expect(deleted.status).toBe(200);
    expect(closed).toHaveBeenCalledOnce();
    expect(pending.ended).toBe(true);
    const after = new RecordedReply();
    await transport.handle(request('POST', call(7)), after);
    expect(after.status).toBe(404);
  });

  it('drops notifications, never answers, for a client that stopped reading', async () => {
    const { transport } = await initialized();
    const stream = new RecordedReply();
    await transport.handle(request('GET', undefined, { accept: 'text/event-stream' }), stream);
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    stream.backlog = MAX_NOTIFICATION_BACKLOG_BYTES + 1;
    await transport.send(changed);
    expect(stream.events()).toEqual([]);
    stream.backlog = 0;
    await transport.send(changed);
    expect(stream.events()).toEqual([changed]);

    const post = new RecordedReply();
    await transport.handle(request('POST', call(8)), post);
    const progress = { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progress: 1 } };
    await transport.send(progress, { relatedRequestId: 8 });
    post.backlog = MAX_NOTIFICATION_BACKLOG_BYTES + 1;
    await transport.send(progress, { relatedRequestId: 8 });
    await transport.send({ jsonrpc: '2.0', id: 8, result: {} });
    expect(post.events()).toEqual([progress, { jsonrpc: '2.0', id: 8, result: {} }]);
    expect(post.ended).toBe(true);
  });
});
