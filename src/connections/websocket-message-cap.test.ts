import { describe, expect, it } from 'vitest';
import { WebSocketMessageCap } from './websocket-message-cap.js';

const HANDSHAKE = Buffer.from(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
);
const TEXT = 0x1;
const PING = 0x9;

/** A server frame (unmasked), with the 7-, 16- or 64-bit length form its size needs. */
function frame(opcode: number, payload: string | Buffer, fin = true): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const first = (fin ? 0x80 : 0) | opcode;
  if (body.length < 126) return Buffer.concat([Buffer.from([first, body.length]), body]);
  if (body.length < 65_536) {
    const header = Buffer.from([first, 126, 0, 0]);
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  const header = Buffer.alloc(10);
  header[0] = first;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(body.length), 2);
  return Buffer.concat([header, body]);
}

/** Feeds `input` in pieces of `step` bytes; returns what passed and what was reported. */
function run(input: Buffer, maxBytes: number, step = input.length) {
  const oversized: { head: string; tail: string }[] = [];
  const cap = new WebSocketMessageCap(maxBytes, (head, tail) => oversized.push({ head, tail }));
  const out: Buffer[] = [];
  for (let at = 0; at < input.length; at += step) out.push(...cap.write(input.subarray(at, at + step)));
  return { passed: Buffer.concat(out), oversized };
}

const big = (size: number, id: number) => {
  const start = `{"jsonrpc":"2.0","id":${id},"result":{"text":"`;
  const end = '"}}';
  return start + 'x'.repeat(size - start.length - end.length) + end;
};

describe('WebSocketMessageCap', () => {
  it.each([1, 3, 7, 1000])(
    'passes the handshake and messages within the limit unchanged (chunks of %i bytes)',
    (step) => {
      const input = Buffer.concat([
        HANDSHAKE,
        frame(TEXT, '{"jsonrpc":"2.0","id":1,"result":{}}'),
        frame(TEXT, 'x'.repeat(300)),
        frame(PING, 'p'),
        frame(TEXT, 'y'.repeat(1000)),
      ]);
      expect(run(input, 1000, step)).toEqual({ passed: input, oversized: [] });
    },
  );

  it.each([1, 5, 4096])(
    'drops a message past the limit and reports its ends (chunks of %i bytes)',
    (step) => {
      const message = big(70_000, 42);
      const after = frame(TEXT, '{"jsonrpc":"2.0","id":43,"result":{}}');
      const { passed, oversized } = run(Buffer.concat([HANDSHAKE, frame(TEXT, message), after]), 1024, step);
      expect(passed).toEqual(Buffer.concat([HANDSHAKE, after]));
      expect(oversized).toHaveLength(1);
      expect(oversized[0]?.head).toBe(message.slice(0, 512));
      expect(oversized[0]?.tail).toBe(message.slice(-512));
    },
  );

  it('holds a fragmented message until its last fragment; a ping in between passes at once', () => {
    const parts = [frame(TEXT, '{"id":', false), frame(0x0, '7,', false), frame(0x0, '"result":{}}')];
    const ping = frame(PING, 'p');
    const cap = new WebSocketMessageCap(1000, () => undefined);
    expect(Buffer.concat(cap.write(Buffer.concat([HANDSHAKE, parts[0]!])))).toEqual(HANDSHAKE);
    expect(Buffer.concat(cap.write(Buffer.concat([parts[1]!, ping])))).toEqual(ping);
    expect(Buffer.concat(cap.write(parts[2]!))).toEqual(Buffer.concat(parts));
  });

  it('a fragmented message that passes the limit in a later fragment is dropped whole', () => {
    const after = frame(TEXT, 'next');
    const input = Buffer.concat([
      HANDSHAKE,
      frame(TEXT, `{"jsonrpc":"2.0","id":9,"result":"${'a'.repeat(600)}`, false),
      frame(0x0, `${'b'.repeat(600)}"}`),
      after,
    ]);
    const { passed, oversized } = run(input, 1000, 100);
    expect(passed).toEqual(Buffer.concat([HANDSHAKE, after]));
    expect(oversized[0]?.head.startsWith('{"jsonrpc":"2.0","id":9,')).toBe(true);
    expect(oversized[0]?.tail.endsWith('b"}')).toBe(true);
  });

  it('stands aside for what it does not expect: a masked frame and all after it pass unchanged', () => {
    const masked = Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61]);
    const input = Buffer.concat([HANDSHAKE, masked, frame(TEXT, 'z'.repeat(5000))]);
    expect(run(input, 1000, 2)).toEqual({ passed: input, oversized: [] });
  });

  it('a refused handshake (not 101) passes through untouched, its body read as no frames', () => {
    const refusal = Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\n\u0081\u007f!');
    expect(run(refusal, 10, 4)).toEqual({ passed: refusal, oversized: [] });
  });
});
