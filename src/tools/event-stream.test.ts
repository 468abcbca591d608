import { describe, expect, it } from 'vitest';
import { createEventStream, wantsEventStream } from './event-stream.js';

/** Collects what the stream body yields until it ends. */
async function readAll(body: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of body) text += String(chunk);
  return text;
}

describe('createEventStream', () => {
  it('writes a comment at once, named events with one-line JSON data, and ends', async () => {
    const events = createEventStream();
    events.send('progress', { progress: 1, total: 2, message: 'line one\nline two' });
    events.send('result', { content: [] });
    events.end();
    expect(await readAll(events.body)).toBe(
      ': connected\n\n' +
        'event: progress\ndata: {"progress":1,"total":2,"message":"line one\\nline two"}\n\n' +
        'event: result\ndata: {"content":[]}\n\n',
    );
  });

  it('keeps a long result on one data line, exactly its JSON', async () => {
    const result = { content: [{ type: 'text', text: 'é line\n"quoted"\t'.repeat(4_000) }] };
    const events = createEventStream();
    events.send('result', result);
    events.end();
    const chunks: Buffer[] = [];
    for await (const chunk of events.body) chunks.push(Buffer.from(chunk as Buffer));
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toBe(`: connected\n\nevent: result\ndata: ${JSON.stringify(result)}\n\n`);
    expect(text.split('\n').filter((line) => line.startsWith('data: '))).toHaveLength(1);
  });

  it('sends keep-alive comments while open, and none after the end', async () => {
    const events = createEventStream({ keepAliveMs: 10 });
    let text = '';
    events.body.on('data', (chunk) => (text += String(chunk)));
    await expect.poll(() => text.split(': ping\n\n').length - 1).toBeGreaterThanOrEqual(2);
    events.end();
    await new Promise<void>((resolve) => events.body.once('end', resolve));
    const atEnd = text;
    await new Promise((resolve) => setTimeout(resolve, 50)); // several intervals: nothing more may come
    expect(text).toBe(atEnd);
  });

  it('ignores writes after the reader went away', () => {
    const events = createEventStream();
    events.body.destroy();
    expect(() => {
      events.send('result', {});
      events.end();
    }).not.toThrow();
  });
});

describe('wantsEventStream', () => {
  it.each([
    ['text/event-stream', true],
    ['application/json, text/event-stream', true],
    ['TEXT/EVENT-STREAM;q=0.5', true],
    ['text/event-stream;q=0', false],
    ['text/event-stream; q=0.000', false],
    ['application/json', false],
    ['*/*', false],
    ['application/json, text/plain, */*', false],
    [undefined, false],
  ])('%s → %s', (accept, expected) => {
    expect(wantsEventStream(accept)).toBe(expected);
  });
});
