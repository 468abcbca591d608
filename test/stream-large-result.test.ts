import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PassThroughFetch } from '../src/connections/pass-through-fetch.js';
import type { FetchLike } from '../src/connections/types.js';
import type { BodyMeter } from '../src/net/body-stage.js';
import { type EgressGuard, createEgressGuard } from '../src/net/index.js';
import { createLogger } from '../src/observability/index.js';
import { type SizedHttpServer, startSizedHttpServer } from './peers/sized-http-server.js';

const logger = createLogger({ level: 'silent' });
const MIB = 1024 * 1024;

/**
 * Counts, through the stage's meter seam, what one body's stage held and copied: a buffer handed to
 * the reader that lies on no chunk read from upstream is a copy the stage made.
 */
class CopyMeter implements BodyMeter {
  private readonly chunks = new WeakSet<ArrayBufferLike>();
  readBytes = 0;
  readChunks = 0;
  pushedBytes = 0;
  copiedBytes = 0;
  /** The most bytes read from upstream and not yet handed on, at any moment. */
  peakHeld = 0;

  read(chunk: Uint8Array): void {
    this.chunks.add(chunk.buffer);
    this.readBytes += chunk.byteLength;
    this.readChunks += 1;
    this.peakHeld = Math.max(this.peakHeld, this.readBytes - this.pushedBytes);
  }

  pushed(bytes: Uint8Array): void {
    this.pushedBytes += bytes.byteLength;
    if (!this.chunks.has(bytes.buffer)) this.copiedBytes += bytes.byteLength;
  }
}

/** An SSE body sending `text` in chunks of `size` bytes, each on its own memory, as a socket would. */
function chunkedSse(text: string, size: number): Response {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

/**
 * Bytes allocated by Buffer.allocUnsafe (which Buffer.concat uses) while `run` runs: every join and copy
 * the stage makes (the line reader's and the event filter's), counted where it happens.
 */
async function allocatedDuring(run: () => Promise<void>): Promise<number> {
  let bytes = 0;
  // Buffer.concat allocates through it too, so each join is counted once, here.
  const allocUnsafe = Buffer.allocUnsafe.bind(Buffer);
  vi.spyOn(Buffer, 'allocUnsafe').mockImplementation((size) => {
    bytes += size;
    return allocUnsafe(size);
  });
  try {
    await run();
  } finally {
    vi.restoreAllMocks();
  }
  return bytes;
}

const POST = { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call' }) };

describe('a 1 MiB result through the pass-through stage', () => {
  afterEach(() => vi.restoreAllMocks());
  const result = JSON.stringify({
    result: { content: [{ type: 'text', text: 'x'.repeat(MIB) }] },
    jsonrpc: '2.0',
    id: 7,
  });
  const event = `event: message\ndata: ${result}\n\n`;

  it('is copied at most once whatever its chunking (never per chunk), and held at most once', async () => {
    const copies: number[] = [];
    for (const size of [1024, 16 * 1024, 64 * 1024]) {
      const meter = new CopyMeter();
      const stage = new PassThroughFetch(() => Promise.resolve(chunkedSse(event, size)), {
        maxResultBytes: 10 * MIB,
        logger,
        onFault: () => undefined,
        streamEndIsFault: false,
        meter,
      });
      let text = '';
      const allocated = await allocatedDuring(async () => {
        const body = (await stage.fetch('http://127.0.0.1/mcp', POST)).body;
        if (body === null) throw new Error('no body');
        const decoder = new TextDecoder();
        const reader = (body as ReadableStream<Uint8Array>).getReader();
        for (let part = await reader.read(); !part.done; part = await reader.read())
          text += decoder.decode(part.value, { stream: true });
      });
      expect(text).toBe(event);
      // One join of the 1 MiB data line (it spans chunks) is the whole allowance.
      expect(allocated).toBeLessThanOrEqual(event.length + 64 * 1024);
      expect(meter.readChunks).toBe(Math.ceil(event.length / size));
      // A copy per chunk would grow with the chunk count (1,025 chunks of 1 KiB: ~512 MiB if
      // each joined what came before); one join of the data line is the whole allowance.
      expect(meter.copiedBytes).toBeLessThanOrEqual(event.length);
      expect(meter.peakHeld).toBeLessThanOrEqual(event.length + size);
      copies.push(meter.copiedBytes);
    }
    expect(new Set(copies).size).toBe(1);
  });
});

describe('a 1 MiB result from a real streamable HTTP server, through the egress guard', () => {
  let peer: SizedHttpServer;
  let guard: EgressGuard;
  beforeAll(async () => {
    peer = await startSizedHttpServer();
    guard = createEgressGuard({ allowedDomains: [new URL(peer.streamableUrl).host] });
  });
  afterAll(async () => {
    await guard?.close();
    await peer?.close();
  });

  for (const mode of ['streamableUrl', 'jsonUrl'] as const) {
    it(`${mode === 'jsonUrl' ? 'JSON' : 'SSE'} answer: the guard's Response is the only one, and the stage copies at most once`, async () => {
      const meter = new CopyMeter();
      const fromGuard: Response[] = [];
      const toSdk: Response[] = [];
      const base: FetchLike = async (url, init) => {
        const response = await guard.withLimits({ streaming: true })(url, init);
        fromGuard.push(response);
        return response;
      };
      const stage = new PassThroughFetch(base, {
        maxResultBytes: 10 * MIB,
        logger,
        onFault: () => undefined,
        streamEndIsFault: false,
        meter,
      });
      const sdkFetch: FetchLike = async (url, init) => {
        const response = await stage.fetch(url, init);
        toSdk.push(response);
        return response;
      };
      const client = new Client({ name: 'stream-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(peer[mode]), { fetch: sdkFetch }));
      try {
        const before = { read: meter.readBytes, copied: meter.copiedBytes };
        const answer = await client.callTool({ name: 'sized', arguments: { bytes: MIB } });
        const content = answer.content as Array<{ text: string }>;
        expect(content[0]?.text.length).toBe(MIB);
        const read = meter.readBytes - before.read;
        expect(read).toBeGreaterThan(MIB);
        expect(meter.copiedBytes - before.copied).toBeLessThanOrEqual(read);
      } finally {
        await client.close();
      }
      // Every response the SDK read is the very one the guard built: no wrapper made another.
      expect(toSdk.length).toBeGreaterThan(0);
      expect(toSdk.every((response) => fromGuard.includes(response))).toBe(true);
    });
  }
});
