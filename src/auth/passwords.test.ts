import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

describe('password hashing', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsf', hash)).toBe(false);
  });

  it('salts: the same password hashes differently', async () => {
    expect(await hashPassword('pw')).not.toBe(await hashPassword('pw'));
  });

  it.each(['', 'scrypt$1$2', 'bcrypt$a$b$c$d$e', 'scrypt$131072$8$1$c2FsdA$c2hvcnQ'])(
    'a malformed hash %j never matches',
    async (h) => {
      expect(await verifyPassword('pw', h)).toBe(false);
    },
  );
});
