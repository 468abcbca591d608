import type { Random } from '../core/index.js';

/**
 * A random (version 4) UUID drawn from the injected source, so tests that need stable ids can
 * supply their own randomness.
 */
export function newId(random: Random): string {
  const bytes = random.bytes(16);
  // RFC 9562 §5.4: version 4 in the high nibble of byte 6, variant 10xx in byte 8.
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
