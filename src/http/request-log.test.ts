import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { LazyRequestLogger } from './request-log.js';

/** A pino logger at `level` with one redacted path, writing its lines to `lines`. */
function logger(level: string, lines: string[]): FastifyBaseLogger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return pino({ level, redact: ['secret'] }, sink);
}

describe('LazyRequestLogger', () => {
  it('makes no child for a request that logs nothing its level lets through', () => {
    const lines: string[] = [];
    const parent = logger('info', lines);
    const child = vi.spyOn(parent, 'child');
    const log = new LazyRequestLogger(parent, { reqId: 'r1' }, { level: 'warn' });
    log.info('not logged');
    log.debug({ a: 1 }, 'not logged either');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
    expect(log.level).toBe('warn');
  });

  it('logs through a real child, with its bindings and the parent redaction, once it must', () => {
    const lines: string[] = [];
    const parent = logger('info', lines);
    const child = vi.spyOn(parent, 'child');
    const log = new LazyRequestLogger(parent, { reqId: 'r2' }, {});
    log.info({ secret: 'hunter2' }, 'first');
    log.warn('second');
    expect(child).toHaveBeenCalledOnce();
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toMatchObject({ reqId: 'r2', msg: 'first', secret: '[Redacted]', level: 30 });
    expect(second).toMatchObject({ reqId: 'r2', msg: 'second', level: 40 });
    expect(lines.join('')).not.toContain('hunter2');
  });

  it('lets nothing through when silent', () => {
    const lines: string[] = [];
    const log = new LazyRequestLogger(logger('info', lines), { reqId: 'r3' }, { level: 'silent' });
    log.fatal('no');
    expect(lines).toEqual([]);
  });
});
