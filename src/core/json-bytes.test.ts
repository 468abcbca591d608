import { describe, expect, it } from 'vitest';
import { bodyForWrite, bodyLength, jsonBody } from './json-bytes.js';

/** Every ASCII character once, then characters of two, three and four UTF-8 bytes and U+2028. */
const EVERY_KIND = `${Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).join('')}é€😀\u2028`;

function text(body: string | Buffer): string {
  return typeof body === 'string' ? body : body.toString('utf8');
}

describe('jsonBody', () => {
  it('keeps a small body a string, exactly JSON.stringify', () => {
    const message = { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'hi "there"\n' }] } };
    expect(jsonBody(message)).toBe(JSON.stringify(message));
    expect(jsonBody(message, 'data: ', '\n\n')).toBe(`data: ${JSON.stringify(message)}\n\n`);
  });

  it('writes long strings of every kind of character as bytes, byte for byte what JSON.stringify writes', () => {
    const escapes = EVERY_KIND.repeat(200);
    const plain = 'x'.repeat(40_000);
    const unicode = 'é😀'.repeat(10_000);
    const message = {
      jsonrpc: '2.0',
      id: 'a"b',
      result: {
        content: [
          { type: 'text', text: escapes },
          { type: 'text', text: plain },
          { type: 'text', text: unicode },
        ],
        structuredContent: { nested: [null, 1.5, true, plain, { deep: escapes }] },
      },
    };
    const body = jsonBody(message);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(text(body)).toBe(JSON.stringify(message));
    expect(bodyLength(body)).toBe(Buffer.byteLength(JSON.stringify(message)));
    const framed = jsonBody(message, 'event: message\ndata: ', '\n\n');
    expect(text(framed)).toBe(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  });

  it('keeps JSON.stringify semantics around the long strings: toJSON, undefined, holes, non-finite numbers', () => {
    const long = 'y'.repeat(20_000);
    const value = {
      at: new Date(0),
      gone: undefined,
      list: [undefined, Number.NaN, Infinity, long, () => 1],
      custom: { toJSON: () => ({ replaced: long }) },
    };
    expect(text(jsonBody(value))).toBe(JSON.stringify(value));
  });

  it('leaves a long string with a lone surrogate, and one deeper than it looks, to JSON.stringify', () => {
    const lone = `${'z'.repeat(20_000)}\ud800${'z'.repeat(10)}`;
    expect(text(jsonBody({ lone }))).toBe(JSON.stringify({ lone }));
    let deep: unknown = 'w'.repeat(20_000);
    for (let depth = 0; depth < 12; depth++) deep = { deep };
    expect(text(jsonBody(deep))).toBe(JSON.stringify(deep));
  });

  it('writes a top-level long string', () => {
    const top = `"${'q'.repeat(20_000)}"`;
    expect(text(jsonBody(top))).toBe(JSON.stringify(top));
  });
});

describe('bodyForWrite', () => {
  it('keeps a small text as a string and encodes a large one to its UTF-8 bytes', () => {
    expect(bodyForWrite('{"ok":true}')).toBe('{"ok":true}');
    const large = JSON.stringify({ text: 'é'.repeat(70_000) });
    const body = bodyForWrite(large);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body.toString()).toBe(large);
  });
});
