import Fastify from 'fastify';
import { type ZodTypeProvider } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { installLargeBodyEncoding } from './large-bodies.js';

describe('large bodies', () => {
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

  it('checks a route’s answer against its zod schema, then writes long strings as bytes', async () => {
    const app = Fastify().withTypeProvider<ZodTypeProvider>();
    installLargeBodyEncoding(app);
    const schema = z.object({ text: z.string(), count: z.number() });
    const text = 'line "one"\nline two\t\u0001'.repeat(2_000);
    app.get('/long', { schema: { response: { 200: schema } } }, async () => ({ text, count: 2, extra: 'x' }));
    // Not what the schema says: refused, not sent.
    app.get('/wrong', { schema: { response: { 200: schema } } }, async () => ({ text }) as never);
    const response = await app.inject({ method: 'GET', url: '/long' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(JSON.stringify({ text, count: 2 }));
    expect(Number(response.headers['content-length'])).toBe(Buffer.byteLength(response.body));
    const wrong = await app.inject({ method: 'GET', url: '/wrong' });
    expect(wrong.statusCode).toBe(500);
    expect(wrong.body).not.toContain('line two');
    await app.close();
  });
});
