import { describe, expect, it } from 'vitest';
import { systemRandom, type Clock } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import { createCookieSigner, createFlowBinding, FLOW_BINDING_TTL_MS } from './binding.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('flow binding cookie', () => {
  const clock = manualClock();
  const binding = createFlowBinding(Buffer.alloc(32, 9), { clock, random: systemRandom });

  it('verifies only for its own flow', () => {
    const value = binding.value('alice:srv');
    expect(value).toMatch(/^\d+\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(binding.verify('alice:srv', value)).toBe(true);
    expect(binding.verify('bob:srv', value)).toBe(false);
    expect(binding.verify('alice:other', value)).toBe(false);
  });

  it('V-10: is different every time it is minted, for the same flow', () => {
    const values = new Set(Array.from({ length: 20 }, () => binding.value('alice:srv')));
    expect(values.size).toBe(20);
    for (const value of values) expect(binding.verify('alice:srv', value)).toBe(true);
  });

  it('V-10: dies at its expiry on the server, whatever the browser keeps', () => {
    const value = binding.value('alice:srv');
    clock.advance(FLOW_BINDING_TTL_MS - 1);
    expect(binding.verify('alice:srv', value)).toBe(true);
    clock.advance(1);
    expect(binding.verify('alice:srv', value)).toBe(false);
  });

  it('V-10: an expiry or nonce changed by the holder no longer verifies', () => {
    const value = binding.value('alice:srv');
    const [expiry = '', nonce = '', mac = ''] = value.split('.');
    const later = String(Number(expiry) + 24 * 60 * 60_000);
    expect(binding.verify('alice:srv', `${later}.${nonce}.${mac}`)).toBe(false);
    const otherNonce = (nonce[0] === 'A' ? 'B' : 'A') + nonce.slice(1);
    expect(binding.verify('alice:srv', `${expiry}.${otherNonce}.${mac}`)).toBe(false);
  });

  it('refuses missing, malformed and forged values', () => {
    const value = binding.value('alice:srv');
    expect(binding.verify('alice:srv', undefined)).toBe(false);
    expect(binding.verify('alice:srv', '')).toBe(false);
    expect(binding.verify('alice:srv', `${value}=`)).toBe(false);
    expect(binding.verify('alice:srv', value.slice(0, -1))).toBe(false);
    const flipped = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    expect(binding.verify('alice:srv', flipped)).toBe(false);
    // Another spelling of the same MAC bytes (the last base64url character's unused bits set) is
    // not the value that was minted: refused, whatever the last character happened to be.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(value.slice(-1));
    const respelt = value.slice(0, -1) + alphabet.charAt(last ^ 1);
    expect(Buffer.from(respelt.split('.')[2]!, 'base64url')).toEqual(
      Buffer.from(value.split('.')[2]!, 'base64url'),
    );
    expect(binding.verify('alice:srv', respelt)).toBe(false);
    // The old format (a bare MAC of the flow id) is no longer accepted.
    expect(binding.verify('alice:srv', value.split('.')[2])).toBe(false);
  });

  it('differs per secret, and refuses a short secret', () => {
    const other = createFlowBinding(Buffer.alloc(32, 1), { clock, random: systemRandom });
    expect(other.verify('a:b', binding.value('a:b'))).toBe(false);
    let error: unknown;
    try {
      createFlowBinding(Buffer.alloc(16, 1), { clock, random: systemRandom });
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_SECRET_MISSING')).toBe(true);
  });
});

describe('cookie signer', () => {
  const clock = manualClock();
  const signer = createCookieSigner(Buffer.alloc(32, 7), { clock, random: systemRandom });

  it('keeps purposes apart: a value minted for one never verifies for another', () => {
    const session = signer.mint('session', 'u-1', 60_000);
    expect(signer.verify('session', 'u-1', session)).toBe(true);
    expect(signer.verify('oauth-flow-binding', 'u-1', session)).toBe(false);
    expect(signer.verify('session', 'u-2', session)).toBe(false);
  });

  it('binds the subject whole: no split of purpose, subject and expiry verifies as another', () => {
    const value = signer.mint('session', 'u\u00001', 60_000);
    expect(signer.verify('session', 'u', value)).toBe(false);
    expect(signer.verify('session', 'u\u00001', value)).toBe(true);
  });
});
