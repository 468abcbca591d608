import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { isCrossSite, safeReturnTo, signInPath } from './return-to.js';

const FALLBACK = '/auth/signin';

describe('safeReturnTo', () => {
  it('keeps paths of the hub, with their query', () => {
    for (const path of [
      '/',
      '/api/mcp/oauth/link/abc_-DEF',
      '/oauth/success?serverName=x',
      '/a/b?c=d&e=%2F%2F',
    ]) {
      expect(safeReturnTo(path, FALLBACK)).toBe(path);
    }
  });

  it('refuses anything a browser could read as another site, or that is not a path', () => {
    for (const value of [
      '//evil.example',
      '//evil.example/path',
      'https://evil.example',
      'http:/evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/a//b',
      '/\t/evil.example',
      '/\n/evil.example',
      '/ok\u0000',
      '/ok\u007f',
      '/javascript:alert(1)',
      'javascript:alert(1)',
      'relative/path',
      '',
      `/${'a'.repeat(2048)}`,
      undefined,
      null,
      42,
      ['/a'],
    ]) {
      expect(safeReturnTo(value, FALLBACK), JSON.stringify(value)).toBe(FALLBACK);
    }
  });
});

describe('signInPath', () => {
  it('encodes the return path into the query, under the prefix', () => {
    expect(signInPath('', '/api/mcp/oauth/link/abc?x=1&y=2')).toBe(
      '/auth/signin?returnTo=%2Fapi%2Fmcp%2Foauth%2Flink%2Fabc%3Fx%3D1%26y%3D2',
    );
    expect(signInPath('/switchboard', '/switchboard/x')).toBe(
      '/switchboard/auth/signin?returnTo=%2Fswitchboard%2Fx',
    );
  });
});

describe('isCrossSite', () => {
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as FastifyRequest;
  const ORIGIN = 'https://hub.example';

  it('trusts Fetch Metadata first: only same-origin and none pass, whatever Origin says', () => {
    expect(isCrossSite(request({ 'sec-fetch-site': 'same-origin', origin: 'null' }), ORIGIN)).toBe(false);
    expect(isCrossSite(request({ 'sec-fetch-site': 'none' }), ORIGIN)).toBe(false);
    expect(isCrossSite(request({ 'sec-fetch-site': 'same-site', origin: ORIGIN }), ORIGIN)).toBe(true);
    expect(isCrossSite(request({ 'sec-fetch-site': 'cross-site', origin: ORIGIN }), ORIGIN)).toBe(true);
  });

  it('falls back to Origin, and lets a client that sends neither through (no browser)', () => {
    expect(isCrossSite(request({ origin: ORIGIN }), ORIGIN)).toBe(false);
    expect(isCrossSite(request({ origin: 'https://evil.example' }), ORIGIN)).toBe(true);
    expect(isCrossSite(request({ origin: 'null' }), ORIGIN)).toBe(true);
    expect(isCrossSite(request({}), ORIGIN)).toBe(false);
  });
});
