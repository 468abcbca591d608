import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { bodyForWrite, installLargeBodyEncoding } from './large-bodies.js';

describe('large bodies', () => {
  it('keeps a small text as a string and encodes a large one to its UTF-8 bytes', () => {
    expect(bodyForWrite('{"ok":true}')).toBe('{"ok":true}');
    const large = JSON.stringify({ text: 'é'.repeat(70_000) });
    const body = bodyForWrite(large);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body.toString()).toBe(large);
  });

  it('answers a large JSON route with the exact bytes and length of its text', async () => {
    const app = Fastify();
    installLargeBodyEncoding(app);
    const text = 'ü'.repeat(100_000);
    app.get('/big', async () => ({ text }));
    const response = await app.inject({ method: 'GET', url: '/big' });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(JSON.stringify({ text })));
    expect(response.json()).toEqual({ text });
    await app.close();
  });
});
