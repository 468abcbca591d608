import { describe, expect, it } from 'vitest';
import type { Logger } from '../observability/index.js';
import { StderrRelay } from './stderr-relay.js';

/** A logger that keeps what `debug` and `warn` were given. */
function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (fields: { stderr?: string }) => {
    if (fields.stderr !== undefined) lines.push(fields.stderr);
  };
  // Only the two methods the relay calls are needed; the rest of pino's surface is unused here.
  const logger = { debug: keep, warn: keep } as unknown as Logger;
  return { logger, lines };
}

const clock = { now: () => 0 };

describe('StderrRelay', () => {
  it('masks the secrets the child was given, whole or cut off at the end of a long line', () => {
    const { logger, lines } = recordingLogger();
    const secret = 'sk-live-0123456789abcdef';
    const relay = new StderrRelay(logger, clock, { maxLineBytes: 40, secrets: [secret, 'short'] });
    relay.push(Buffer.from(`using key ${secret} now\n`));
    relay.push(Buffer.from(`Error: bad key ${secret}\n`));
    relay.push(Buffer.from(`${'x'.repeat(30)} ${secret}\n`)); // cut at 40 bytes, mid-secret
    relay.push(Buffer.from('a short word stays\n'));
    relay.end();
    expect(lines).toEqual([
      'using key [redacted] now',
      'Error: bad key [redacted]',
      `${'x'.repeat(30)} [redacted]`,
      'a short word stays',
    ]);
    expect(lines.join('\n')).not.toContain('sk-live-0');
  });
});
