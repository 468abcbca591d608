import { describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { createFlowBinding } from './binding.js';

describe('flow binding cookie', () => {
  const binding = createFlowBinding(Buffer.alloc(32, 9));

  it('is a 256-bit base64url HMAC that verifies only for its own flow', () => {
    const value = binding.value('alice:srv');
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(binding.verify('alice:srv', value)).toBe(true);
    expect(binding.verify('bob:srv', value)).toBe(false);
    expect(binding.verify('alice:other', value)).toBe(false);
  });

  it('refuses missing, malformed and forged values', () => {
    const value = binding.value('alice:srv');
    expect(binding.verify('alice:srv', undefined)).toBe(false);
    expect(binding.verify('alice:srv', '')).toBe(false);
    expect(binding.verify('alice:srv', `${value}=`)).toBe(false);
    expect(binding.verify('alice:srv', value.slice(0, -1))).toBe(false);
    const flipped = (value[0] === 'A' ? 'B' : 'A') + value.slice(1);
    expect(binding.verify('alice:srv', flipped)).toBe(false);
  });

  it('differs per secret, and refuses a short secret', () => {
    expect(createFlowBinding(Buffer.alloc(32, 1)).value('a:b')).not.toBe(binding.value('a:b'));
    let error: unknown;
    try {
      createFlowBinding(Buffer.alloc(16, 1));
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_SECRET_MISSING')).toBe(true);
  });
});
