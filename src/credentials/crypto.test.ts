import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Random } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import {
  createCipherKeyring,
  credentialsKeyId,
  keyringFromCredentialsKey,
  parseCredentialsKey,
  type CipherKeyring,
} from './index.js';

const SECRET = 'sk-live-canary-7f3a9c';

function keyring(keys: Array<{ id: string; key: Buffer }>, activeKeyId: string): CipherKeyring {
  return createCipherKeyring({ keys, activeKeyId });
}

/** Asserts the stable code and that nothing secret leaked into the error. */
function expectDecryptFailed(run: () => unknown, ...secrets: string[]): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(isHubError(caught, 'HUB_ERR_DECRYPT_FAILED')).toBe(true);
  const text = `${String(caught)} ${JSON.stringify(caught)} ${String((caught as Error).cause)}`;
  for (const secret of [SECRET, ...secrets]) expect(text).not.toContain(secret);
}

/** Flips one bit of one base64url part, keeping the encoding canonical. */
function flipBit(envelope: string, part: number): string {
  const parts = envelope.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0]! ^= 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('cipher keyring', () => {
  const key1 = randomBytes(32);
  const key2 = randomBytes(32);

  it('round-trips, including empty and non-ASCII text', () => {
    const ring = keyring([{ id: 'k1', key: key1 }], 'k1');
    for (const plaintext of [SECRET, '', 'üñíçødé 🔑', 'x'.repeat(10_000)]) {
      expect(ring.decrypt(ring.encrypt(plaintext, 'user-1:github:token'), 'user-1:github:token')).toBe(
        plaintext,
      );
    }
  });

  it('writes the compact v1 envelope without the plaintext in it', () => {
    const ring = keyring([{ id: 'k1', key: key1 }], 'k1');
    const envelope = ring.encrypt(SECRET, 'aad');
    expect(envelope).toMatch(/^v1\.k1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]+$/);
    expect(envelope).not.toContain(SECRET);
    expect(envelope).not.toContain(Buffer.from(SECRET).toString('base64url'));
    expect(ring.keyIdOf(envelope)).toBe('k1');
    expect(ring.keyIdOf('not an envelope')).toBeNull();
  });

  it('refuses a ciphertext moved to another user (AAD mismatch)', () => {
    const ring = keyring([{ id: 'k1', key: key1 }], 'k1');
    const alices = ring.encrypt(SECRET, 'user-alice:github:token');
    const bobs = ring.encrypt('bobs-token', 'user-bob:github:token');
    expectDecryptFailed(() => ring.decrypt(alices, 'user-bob:github:token'));
    expectDecryptFailed(() => ring.decrypt(bobs, 'user-alice:github:token'), 'bobs-token');
    expectDecryptFailed(() => ring.decrypt(alices, ''));
  });

  it('refuses any tampered part', () => {
    const ring = keyring([{ id: 'k1', key: key1 }], 'k1');
    const envelope = ring.encrypt(SECRET, 'aad');
    for (const part of [2, 3, 4]) expectDecryptFailed(() => ring.decrypt(flipBit(envelope, part), 'aad'));
    const [, , iv, tag, ciphertext] = envelope.split('.');
    const malformed = [
      '',
      'v1',
      envelope.replace(/^v1\./, 'v2.'),
      `${envelope}.extra`,
      `v1.k1.${iv}.${tag!.slice(0, 10)}.${ciphertext}`, // truncated tag
      `v1.k1.${iv}.${tag}.${ciphertext}!`, // non-base64url character
      `v1.k1.${iv}.${tag}.${ciphertext!.slice(0, -1)}`, // truncated ciphertext
      `v1.k1.${iv}.${tag}.`, // ciphertext removed
    ];
    for (const bad of malformed) expectDecryptFailed(() => ring.decrypt(bad, 'aad'));
  });

  it('refuses an unknown key id, and a known id with the wrong key', () => {
    const ring = keyring([{ id: 'k1', key: key1 }], 'k1');
    const other = keyring([{ id: 'k1', key: key2 }], 'k1');
    const envelope = ring.encrypt(SECRET, 'aad');
    expectDecryptFailed(() => ring.decrypt(envelope.replace('.k1.', '.k9.'), 'aad'));
    expectDecryptFailed(() => other.decrypt(envelope, 'aad'), key1.toString('hex'), key1.toString('base64'));
  });

  it('still opens old envelopes after a rotation, and seals new ones with the new key', () => {
    const before = keyring([{ id: 'k1', key: key1 }], 'k1');
    const old = before.encrypt(SECRET, 'aad');
    const after = keyring(
      [
        { id: 'k1', key: key1 },
        { id: 'k2', key: key2 },
      ],
      'k2',
    );
    expect(after.decrypt(old, 'aad')).toBe(SECRET);
    const fresh = after.encrypt(SECRET, 'aad');
    expect(after.keyIdOf(fresh)).toBe('k2');
    expect(after.decrypt(fresh, 'aad')).toBe(SECRET);
    // Without the retired key the old envelope is unreadable, as intended.
    expectDecryptFailed(() => keyring([{ id: 'k2', key: key2 }], 'k2').decrypt(old, 'aad'));
  });

  it('uses a fresh IV from the injected Random for every message', () => {
    let calls = 0;
    const counting: Random = {
      bytes: (n) => {
        calls += 1;
        return randomBytes(n);
      },
    };
    const ring = createCipherKeyring({
      keys: [{ id: 'k1', key: key1 }],
      activeKeyId: 'k1',
      random: counting,
    });
    const envelopes = Array.from({ length: 1_000 }, () => ring.encrypt(SECRET, 'aad'));
    expect(calls).toBe(1_000);
    expect(new Set(envelopes.map((e) => e.split('.')[2])).size).toBe(1_000);
    expect(new Set(envelopes).size).toBe(1_000);
  });

  it('refuses an IV source that returns the wrong length', () => {
    const short: Random = { bytes: () => Buffer.alloc(4) };
    const ring = createCipherKeyring({ keys: [{ id: 'k1', key: key1 }], activeKeyId: 'k1', random: short });
    expect(() => ring.encrypt(SECRET, 'aad')).toThrow(expect.objectContaining({ code: 'HUB_ERR_INTERNAL' }));
  });

  it('keeps its own copy of the key', () => {
    const key = Buffer.from(key1);
    const ring = keyring([{ id: 'k1', key }], 'k1');
    const envelope = ring.encrypt(SECRET, 'aad');
    key.fill(0);
    expect(ring.decrypt(envelope, 'aad')).toBe(SECRET);
  });

  it('rejects keyrings that cannot work', () => {
    const invalid = expect.objectContaining({ code: 'HUB_ERR_CONFIG_INVALID' });
    expect(() => keyring([{ id: 'k1', key: randomBytes(16) }], 'k1')).toThrow(invalid);
    expect(() => keyring([{ id: 'k.1', key: key1 }], 'k.1')).toThrow(invalid);
    expect(() => keyring([{ id: '', key: key1 }], '')).toThrow(invalid);
    expect(() => keyring([{ id: 'k1', key: key1 }], 'k2')).toThrow(invalid);
    expect(() =>
      keyring(
        [
          { id: 'k1', key: key1 },
          { id: 'k1', key: key2 },
        ],
        'k1',
      ),
    ).toThrow(invalid);
  });
});

describe('CREDENTIALS_KEY', () => {
  const hex = randomBytes(32).toString('hex');

  it('parses 64 hex characters, either case', () => {
    const lower = parseCredentialsKey(hex);
    const upper = parseCredentialsKey(hex.toUpperCase());
    expect(lower.ok && upper.ok && lower.value.equals(upper.value)).toBe(true);
    expect(lower.ok && lower.value.length).toBe(32);
  });

  it('refuses anything else without echoing it', () => {
    for (const bad of [
      '',
      hex.slice(0, 62),
      `${hex}00`,
      `${hex.slice(0, 63)}g`,
      ` ${hex.slice(1)}`,
      `0x${hex.slice(2)}`,
    ]) {
      const result = parseCredentialsKey(bad);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.code).toBe('HUB_ERR_CONFIG_INVALID');
        if (bad !== '') expect(result.message).not.toContain(bad);
      }
    }
  });

  it('derives a stable key id from the key that is not the key', () => {
    const key = Buffer.from(hex, 'hex');
    const id = credentialsKeyId(key);
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(id).toBe(createHash('sha256').update(key).digest('hex').slice(0, 8));
    expect(credentialsKeyId(Buffer.from(hex, 'hex'))).toBe(id);
    expect(hex).not.toContain(id);
  });

  it('builds a keyring that survives a restart and a rotation', () => {
    const oldKey = Buffer.from(hex, 'hex');
    const newKey = randomBytes(32);
    const envelope = keyringFromCredentialsKey(oldKey).encrypt(SECRET, 'aad');
    // A "restart": a new keyring from the same key reads what the old one wrote.
    expect(keyringFromCredentialsKey(Buffer.from(hex, 'hex')).decrypt(envelope, 'aad')).toBe(SECRET);

    const rotated = keyringFromCredentialsKey(newKey, { previousKeys: [oldKey, newKey] });
    expect(rotated.activeKeyId).toBe(credentialsKeyId(newKey));
    expect(rotated.decrypt(envelope, 'aad')).toBe(SECRET);
    expect(rotated.keyIdOf(rotated.encrypt(SECRET, 'aad'))).toBe(credentialsKeyId(newKey));
  });
});
