import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorTable } from './codes.js';
import { HubError } from './hub-error.js';

describe('error codes', () => {
  it('every code is documented in docs/errors.md with its status', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    for (const [code, { status }] of Object.entries(errorTable)) {
      // Table cells may be padded (Prettier aligns markdown tables).
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    }
  });

  it('HubError carries code, status and the safe message, and keeps the cause out of the message', () => {
    const cause = new Error('db password is hunter2');
    const err = new HubError('HUB_ERR_INTERNAL', { cause });
    expect(err.code).toBe('HUB_ERR_INTERNAL');
    expect(err.status).toBe(500);
    expect(err.message).toBe('Internal server error');
    expect(err.cause).toBe(cause);
  });
});
