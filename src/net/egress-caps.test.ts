import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkSource, DIRECT_BODY, type DirectBodyInit, bodyOf, cancelBody } from './body-stage.js';
import { type EgressGuard, createEgressGuard } from './index.js';
import { type Peer, startPeer, outcome } from './test-peers.js';

const FIFTY_MB = 50 * 1024 * 1024;
const CAP = 256 * 1024;

/** Everything a body source gives, as text. */
async function readAll(source: ChunkSource | null): Promise<string> {
  const chunks: Uint8Array[] = [];
  for (let read = await source?.read(); read !== undefined && !read.done; read = await source?.read())
    chunks.push(read.value);
  return Buffer.concat(chunks).toString('utf8');
}

const DIRECT: DirectBodyInit = { [DIRECT_BODY]: true };

/** Writes `total` bytes in 64 KiB chunks, honouring backpressure, until done or the client goes. */
function pour(res: ServerResponse, total: number, sent: { bytes: number; finished: boolean }): void {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let closed = false;
  res.on('close', () => (closed = true));
  const write = (): void => {
    while (!closed && sent.bytes < total) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', write);
        return;
      }
    }
    if (!closed) {
      sent.finished = true;
      res.end();
    }
  };
  write();
}

describe('SS-16: response size and time caps', () => {
  let upstream: Peer;
  let guard: EgressGuard;
  const poured = { bytes: 0, finished: false };
  const timers = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    upstream = await startPeer((req, res) => {
      switch (req.url) {
        case '/50mb-chunked':
          res.writeHead(200, { 'content-type': 'application/json' });
          return pour(res, FIFTY_MB, poured);
        case '/50mb-declared':
          res.writeHead(200, { 'content-length': String(FIFTY_MB) });
          return pour(res, FIFTY_MB, { bytes: 0, finished: false });
        case '/slow-loris': {
          res.writeHead(200, { 'content-type': 'application/json' });
          const timer = setInterval(() => res.write(' '), 50);
          timers.add(timer);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case '/no-headers':
          return; // never answers
        case '/events': {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          let sent = 0;
          const timer = setInterval(() => {
            sent += 1;
            res.write(`data: ${'x'.repeat(100)}\n\n`);
            if (sent === 6) {
              clearInterval(timer);
              res.end();
            }
          }, 60);
          timers.add(timer);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case '/missing':
          res.writeHead(404, { 'content-type': 'text/plain' });
          return res.end('no such thing');
        default:
          return res.end('small');
      }
    });
    guard = createEgressGuard({
      allowedDomains: [`127.0.0.1:${upstream.port}`],
      maxResponseBytes: CAP,
      timeoutMs: 300,
    });
  });

  afterAll(async () => {
    for (const timer of timers) clearInterval(timer);
    await guard.close();
    await upstream.close();
  });

  it('a 50 MB body streamed without Content-Length is cut at the cap, never buffered whole', async () => {
    const response = await guard.withLimits({ timeoutMs: 10_000 })(upstream.url('/50mb-chunked'));
    expect(response.status).toBe(200);
    expect(await outcome(response.arrayBuffer())).toBe('HUB_ERR_EGRESS_FAILED');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(poured.finished).toBe(false);
    // What left the server before the socket closed: the cap plus socket buffers, far from 50 MB.
    expect(poured.bytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('a declared Content-Length over the cap fails before the body is read', async () => {
    expect(await outcome(guard.fetch(upstream.url('/50mb-declared')))).toBe('HUB_ERR_EGRESS_FAILED');
  });

  it('a slow-loris body is aborted at the time cap', async () => {
    const started = Date.now();
    const response = await guard.fetch(upstream.url('/slow-loris'));
    expect(await outcome(response.text())).toBe('HUB_ERR_UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a server that never answers is aborted at the time cap', async () => {
    expect(await outcome(guard.fetch(upstream.url('/no-headers')))).toBe('HUB_ERR_UPSTREAM_TIMEOUT');
  });

  it('the caller’s own abort passes through with its reason', async () => {
    const caller = new AbortController();
    const reason = new Error('caller gave up');
    setTimeout(() => caller.abort(reason), 20);
    let caught: unknown;
    try {
      await guard.withLimits({ timeoutMs: Infinity })(upstream.url('/no-headers'), { signal: caller.signal });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(reason);
  });

  it('the caller’s abort ends a body mid-stream with its reason; an aborted signal sends nothing', async () => {
    const noCap = guard.withLimits({ timeoutMs: Infinity });
    const caller = new AbortController();
    const response = await noCap(upstream.url('/slow-loris'), { signal: caller.signal });
    const reason = new Error('caller gave up mid-body');
    const reading = response.text().then(
      () => 'read whole',
      (error: unknown) => error,
    );
    caller.abort(reason);
    expect(await reading).toBe(reason);
    const early = new Error('gave up before asking');
    await expect(noCap(upstream.url('/no-headers'), { signal: AbortSignal.abort(early) })).rejects.toBe(
      early,
    );
  });

  it('streaming: an event stream outlives the time cap and the size cap; other bodies keep the size cap', async () => {
    const streaming = guard.withLimits({ streaming: true, maxResponseBytes: 200 });
    const events = await streaming(upstream.url('/events'));
    expect((await events.text()).match(/data:/g)).toHaveLength(6); // ~360 ms and 600+ bytes
    const tiny = guard.withLimits({ streaming: true, maxResponseBytes: 3 });
    expect(await outcome(tiny(upstream.url('/')).then((r) => r.text()))).toBe('HUB_ERR_EGRESS_FAILED');
  });

  it('not streaming: the same event stream is cut at the time cap', async () => {
    const response = await guard.fetch(upstream.url('/events'));
    expect(await outcome(response.text())).toBe('HUB_ERR_UPSTREAM_TIMEOUT');
  });

  it('a direct body: a 2xx answer has no web stream, and its body reads whole through bodyOf', async () => {
    const response = await guard.fetch(upstream.url('/'), DIRECT);
    expect(response.status).toBe(200);
    expect(response.body).toBeNull();
    expect(await readAll(bodyOf(response))).toBe('small');
    // Any other status keeps its stream, for callers that read it as fetch's own.
    const missing = await guard.fetch(upstream.url('/missing'), DIRECT);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('no such thing');
  });

  it('a direct body keeps the size and time caps, and a cancelled one reads as ended', async () => {
    const large = await guard.withLimits({ timeoutMs: 10_000 })(upstream.url('/50mb-chunked'), DIRECT);
    expect(large.body).toBeNull();
    expect(await outcome(readAll(bodyOf(large)))).toBe('HUB_ERR_EGRESS_FAILED');
    const slow = await guard.fetch(upstream.url('/slow-loris'), DIRECT);
    expect(await outcome(readAll(bodyOf(slow)))).toBe('HUB_ERR_UPSTREAM_TIMEOUT');
    const cancelled = await guard.withLimits({ timeoutMs: 10_000 })(upstream.url('/50mb-chunked'), DIRECT);
    await cancelBody(cancelled);
    expect(await bodyOf(cancelled)?.read()).toEqual({ done: true, value: undefined });
  });

  it('the guard stays healthy after all of the above', async () => {
    const response = await guard.fetch(upstream.url('/'));
    expect(await response.text()).toBe('small');
  });

  it('refuses limits that would switch a cap off by mistake', () => {
    expect(() => guard.withLimits({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => guard.withLimits({ maxResponseBytes: -1 })).toThrow(RangeError);
    expect(() => guard.withLimits({ maxRedirects: 1.5 })).toThrow(RangeError);
  });
});
