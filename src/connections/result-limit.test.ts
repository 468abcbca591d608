import { describe, expect, it } from 'vitest';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { BoundedLineReader } from './bounded-lines.js';
import {
  idFromEnds,
  requestIdFromEnds,
  RESULT_TOO_LARGE_CODE,
  resultTooLargeError,
  resultTooLargeResponse,
} from './result-limit.js';
import { SseResultFilter } from './sse-result-filter.js';

/** Feeds `text` to `push` in chunks of `size` bytes. */
function feed(push: (chunk: Buffer) => void, text: string, size: number): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) push(bytes.subarray(at, at + size));
}

describe('idFromEnds', () => {
  it('reads a top-level id at the start or at the end of a response', () => {
    expect(idFromEnds('{"jsonrpc":"2.0","id":7,"result":{"content":[', '')).toBe(7);
    expect(idFromEnds('{"id":"a\\"b","result":', '')).toBe('a"b');
    expect(idFromEnds('{"result":{"content":[{"text":"xx', 'xx"}]},"jsonrpc":"2.0","id":12}\r')).toBe(12);
  });

  it('reads nothing from a nested id, or from a request of the server’s own', () => {
    expect(idFromEnds('{"result":{', '"meta":{"id":5}}}')).toBeUndefined();
    expect(
      idFromEnds('{"method":"sampling/createMessage","params":{', ',"jsonrpc":"2.0","id":0}'),
    ).toBeUndefined();
    expect(idFromEnds('{"jsonrpc":"2.0","id":3,"method":"x","params":{', '}}')).toBeUndefined();
  });
});

describe('resultTooLargeError', () => {
  it('names the limit for the hub’s own error, and ignores the same code from an upstream', () => {
    const ours = resultTooLargeResponse({ maxBytes: 2048, id: 1 }) as {
      error: { code: number; message: string; data: unknown };
    };
    const error = resultTooLargeError(new McpError(ours.error.code, ours.error.message, ours.error.data));
    expect(error).toMatchObject({ code: 'HUB_ERR_RESULT_TOO_LARGE', details: { maxResultBytes: 2048 } });
    const forged = { hubResultTooLarge: 'guess', maxResultBytes: 1 };
    expect(resultTooLargeError(new McpError(RESULT_TOO_LARGE_CODE, 'x', forged))).toBeUndefined();
  });
});

describe('BoundedLineReader', () => {
  it('passes short lines, skips a long one whole keeping its ends, and goes on', () => {
    const seen: string[] = [];
    const reader = new BoundedLineReader(16, {
      line: (line) => seen.push(`line ${line.toString()}`),
      oversized: (head, tail) => seen.push(`oversized ${head.length} ${tail.toString().slice(-3)}`),
    });
    feed((chunk) => reader.push(chunk), `a\n${'y'.repeat(2000)}end\nb\nc`, 7);
    reader.end();
    expect(seen).toEqual(['line a', 'oversized 512 end', 'line b', 'line c']);
  });
});

describe('SseResultFilter', () => {
  const run = (text: string, maxBytes: number, chunk: number) => {
    const out: string[] = [];
    const dropped: unknown[] = [];
    const filter = new SseResultFilter(maxBytes, {
      emit: (lines, complete) =>
        out.push(lines.map((line) => `${line.toString()}\n`).join('') + (complete ? '\n' : '')),
      overflowed: () => undefined,
      dropped: (id) => dropped.push(id),
    });
    feed((part) => filter.push(part), text, chunk);
    filter.end();
    return { out: out.join(''), dropped };
  };

  it('passes events under the limit unchanged and drops a larger one, reading its id', () => {
    const small = 'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n';
    const big = `event: message\ndata: {"result":{"t":"${'z'.repeat(5000)}"},"jsonrpc":"2.0","id":2}\n\n`;
    const after = ': keep-alive\n\nevent: message\ndata: {"jsonrpc":"2.0","method":"n"}\n\n';
    for (const chunk of [1, 13, 4096]) {
      const { out, dropped } = run(small + big + after, 1024, chunk);
      expect(out).toBe(small + after);
      expect(dropped).toEqual([2]);
    }
  });

  it('counts an event across its lines, so many short data lines cannot pass the limit', () => {
    const lines = Array.from({ length: 100 }, () => `data: ${'q'.repeat(50)}`).join('\n');
    const { out, dropped } = run(`data: {"id":9,\n${lines}\n\n`, 1024, 64);
    expect(out).toBe('');
    expect(dropped).toEqual([9]);
  });
});

describe('requestIdFromEnds', () => {
  it('reads a request’s top-level id last (as the TypeScript SDK writes it) or first', () => {
    const params = '"params":{"name":"echo","arguments":{"text":"xx';
    expect(requestIdFromEnds(`{"method":"tools/call",${params}`, 'xx"}},"jsonrpc":"2.0","id":5}')).toBe(5);
    expect(requestIdFromEnds(`{"jsonrpc":"2.0","id":"r-1","method":"tools/call",${params}`, 'xx"}}}')).toBe(
      'r-1',
    );
  });

  it('reads nothing from a response, a nested id, or a request whose id is in the middle', () => {
    expect(
      requestIdFromEnds('{"result":{"content":[{"text":"xx', 'xx"}]},"jsonrpc":"2.0","id":12}'),
    ).toBeUndefined();
    expect(
      requestIdFromEnds('{"method":"tools/call","params":{"a":"xx', 'xx","b":{"id":3}}}'),
    ).toBeUndefined();
    expect(requestIdFromEnds('{"method":"tools/call","id":4,"params":{"a":"xx', 'xx"}}')).toBeUndefined();
    expect(requestIdFromEnds('[{"method":"tools/call"', '"id":1}]')).toBeUndefined();
  });
});
