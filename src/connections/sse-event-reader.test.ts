import { describe, expect, it } from 'vitest';
import { type SseEvent, SseEventReader } from './sse-event-reader.js';

interface Read {
  events: SseEvent[];
  retries: number[];
}

/** Reads `body` fed in the given pieces (byte offsets where a chunk ends). */
function read(body: Buffer, cuts: readonly number[] = []): Read {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const reader = new SseEventReader({
    event: (event) => events.push(event),
    retry: (ms) => retries.push(ms),
  });
  let start = 0;
  for (const cut of [...cuts, body.length]) {
    reader.push(new Uint8Array(body.subarray(start, cut)));
    start = cut;
  }
  reader.end();
  return { events, retries };
}

const STREAM = [
  ': a comment the reader skips',
  'retry: 2500',
  'id: 7',
  'data: {"jsonrpc":"2.0","method":"a"}',
  '',
  'event: ping',
  'data: first',
  'data:second',
  'data',
  '',
  'data: ünïcödé ✓ 😀',
  '',
  'id',
  'data: after an empty id',
  '',
  'retry: soon',
  'data: unfinished',
].join('\n');

const EXPECTED: SseEvent[] = [
  { type: 'message', data: '{"jsonrpc":"2.0","method":"a"}', lastEventId: '7' },
  { type: 'ping', data: 'first\nsecond\n', lastEventId: '7' },
  { type: 'message', data: 'ünïcödé ✓ 😀', lastEventId: '7' },
  { type: 'message', data: 'after an empty id', lastEventId: '' },
];

describe('SseEventReader (WHATWG HTML §9.2.6)', () => {
  it('reads fields, comments, multi-line data and ids, and drops the unfinished event at the end', () => {
    const { events, retries } = read(Buffer.from(STREAM));
    expect(events).toEqual(EXPECTED);
    expect(retries).toEqual([2500]);
  });

  it('gives the same events however the body is cut into chunks, at every byte', () => {
    const body = Buffer.from(STREAM);
    for (let cut = 1; cut < body.length; cut++) expect(read(body, [cut]).events).toEqual(EXPECTED);
    const everyByte = Array.from({ length: body.length - 1 }, (_, index) => index + 1);
    expect(read(body, everyByte).events).toEqual(EXPECTED);
  });

  it('takes CRLF and lone CR line ends as LF, also when a CRLF is split between chunks', () => {
    for (const end of ['\r\n', '\r']) {
      const body = Buffer.from(STREAM.split('\n').join(end));
      for (let cut = 1; cut < body.length; cut++) expect(read(body, [cut]).events).toEqual(EXPECTED);
    }
  });

  it('skips a leading byte order mark, even one split over chunks, but only at the start', () => {
    const body = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('data: x\n\n\ufeffdata: y\n\n'),
    ]);
    const expected = [
      { type: 'message', data: 'x', lastEventId: undefined },
      // Later, U+FEFF starts a field name that is not "data": the line is ignored.
    ];
    expect(read(body).events).toEqual(expected);
    expect(read(body, [1, 2]).events).toEqual(expected);
  });

  it('dispatches an empty data line as an empty string, and nothing for an event without data', () => {
    expect(read(Buffer.from('id: 1\n\ndata\n\n')).events).toEqual([
      { type: 'message', data: '', lastEventId: '1' },
    ]);
  });

  it('keeps the id of an event without data, and starts from the id a reopened stream carries over', () => {
    const reader = new SseEventReader({ event: () => undefined }, 'from-before');
    expect(reader.lastEventId).toBe('from-before');
    reader.push(Buffer.from('id: primed\n\n'));
    expect(reader.lastEventId).toBe('primed');
  });

  it('ignores an id that holds a NUL and a retry that is not all digits', () => {
    const { events, retries } = read(Buffer.from('id: 1\n\nid: a\u0000b\nretry: 10ms\ndata: z\n\n'));
    expect(events).toEqual([{ type: 'message', data: 'z', lastEventId: '1' }]);
    expect(retries).toEqual([]);
  });

  it('decodes a character split between chunks once the event is whole', () => {
    const body = Buffer.from('data: 😀😀\n\n');
    for (let cut = 7; cut < 14; cut++) expect(read(body, [cut]).events[0]?.data).toBe('😀😀');
  });

  it('keeps a large data line as the one buffer it came in: the text is decoded from it directly', () => {
    const value = 'x'.repeat(1 << 20);
    const { events } = read(Buffer.from(`data: ${value}\n\n`));
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toBe(value);
  });
});
