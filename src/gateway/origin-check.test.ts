import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createOriginCheck, OriginAllowlist } from './origin-check.js';

const request = (port: number | undefined, headers: Record<string, string>): FastifyRequest =>
  ({ socket: { localPort: port }, headers }) as unknown as FastifyRequest;

describe('origin check', () => {
  it('builds the allowed names once per local port, not on every request', () => {
    const allowlist = new OriginAllowlist('https://hub.example.com/base');
    const first = allowlist.forPort(8080);
    expect(allowlist.forPort(8080)).toBe(first);
    expect(first.hosts).toEqual(
      new Set(['hub.example.com', 'localhost:8080', '127.0.0.1:8080', '[::1]:8080']),
    );
    expect(allowlist.forPort(9090)).not.toBe(first);
    expect(allowlist.forPort(undefined).hosts).toEqual(new Set(['hub.example.com']));
  });

  it('allows the hub’s own names and refuses a rebinding host, a foreign origin and Origin: null', () => {
    const check = createOriginCheck({ publicUrl: 'https://hub.example.com' });
    expect(() => check(request(3000, { host: 'hub.example.com' }))).not.toThrow();
    expect(() =>
      check(request(3000, { host: 'LOCALHOST:3000', origin: 'http://127.0.0.1:3000' })),
    ).not.toThrow();
    expect(() =>
      check(request(3000, { host: 'hub.example.com', origin: 'https://hub.example.com' })),
    ).not.toThrow();
    expect(() => check(request(3000, { host: 'evil.example:3000' }))).toThrow(/Host not allowed/);
    expect(() => check(request(3000, { host: 'localhost:4000' }))).toThrow(/Host not allowed/);
    expect(() => check(request(3000, { host: 'hub.example.com', origin: 'https://evil.example' }))).toThrow(
      /Origin not allowed/,
    );
    expect(() => check(request(3000, { host: 'hub.example.com', origin: 'null' }))).toThrow(
      /Origin not allowed/,
    );
  });
});
