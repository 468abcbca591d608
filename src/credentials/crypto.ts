import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { systemRandom, type Random } from '../core/index.js';
import { fail, HubError, ok, type Result } from '../errors/index.js';
import { countDecryption } from './counters.js';

/** One AES-256 key and the id written into every envelope it seals. */
export interface CipherKey {
  /** Letters, digits, `_` and `-` only: the id sits between the envelope's dots. */
  id: string;
  /** Exactly 32 bytes. */
  key: Buffer;
}

/** Options for {@link createCipherKeyring}. */
export interface CipherKeyringOptions {
  /** Every key that may have sealed stored data; old keys stay here after a rotation. */
  keys: readonly CipherKey[];
  /** The key new envelopes are sealed with. */
  activeKeyId: string;
  /** Source of the IVs. */
  random?: Random;
}

/**
 * Seals secrets at rest. `aad` names what the secret belongs to (e.g. `userId:server:field`) and
 * must be given again to open it, so a ciphertext copied onto another row or user fails to decrypt.
 */
export interface CipherKeyring {
  /** The id of the key new envelopes are sealed with. */
  readonly activeKeyId: string;
  /** A fresh envelope `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). */
  encrypt(plaintext: string, aad: string): string;
  /** The plaintext; throws `HUB_ERR_DECRYPT_FAILED` on any mismatch, tampering or unknown key. */
  decrypt(envelope: string, aad: string): string;
  /** The key id an envelope was sealed with, or null when it is not an envelope; for re-encryption after rotation. */
  keyIdOf(envelope: string): string | null;
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
// NIST SP 800-38D §8.2: 96-bit random IVs; the full 128-bit tag so no forgery shortcut exists.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]*$/;

/** Builds a keyring; throws `HUB_ERR_CONFIG_INVALID` when the keys cannot work together. */
export function createCipherKeyring(options: CipherKeyringOptions): CipherKeyring {
  const random = options.random ?? systemRandom;
  const keys = new Map<string, Buffer>();
  for (const { id, key } of options.keys) {
    if (!KEY_ID_PATTERN.test(id)) throw configInvalid('A credentials key id is not a valid id');
    if (key.length !== KEY_BYTES) throw configInvalid('A credentials key is not 32 bytes long');
    if (keys.has(id)) throw configInvalid('Two credentials keys share one id');
    // A private copy: later changes to the caller's buffer must not change what we decrypt with.
    keys.set(id, Buffer.from(key));
  }
  const activeKeyId = options.activeKeyId;
  const activeKey = keys.get(activeKeyId);
  if (!activeKey) throw configInvalid('The active credentials key id is not in the keyring');

  return {
    activeKeyId,

    encrypt(plaintext, aad) {
      const iv = random.bytes(IV_BYTES);
      // A short IV from a faulty Random would silently weaken GCM; refuse instead.
      if (iv.length !== IV_BYTES)
        throw new HubError('HUB_ERR_INTERNAL', { message: 'IV source returned the wrong length' });
      const cipher = createCipheriv(ALGORITHM, activeKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, activeKeyId, encode(iv), encode(tag), encode(ciphertext)].join('.');
    },

    decrypt(envelope, aad) {
      countDecryption();
      const parts = parseEnvelope(envelope);
      const key = parts && keys.get(parts.keyId);
      if (!parts || !key) throw decryptFailed();
      try {
        const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(parts.tag);
        return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
      } catch (error) {
        // Node's message ("unable to authenticate data") holds neither key nor plaintext.
        throw decryptFailed(error);
      }
    },

    keyIdOf(envelope) {
      return parseEnvelope(envelope)?.keyId ?? null;
    },
  };
}

/** Checks a `CREDENTIALS_KEY`: 64 hex characters, i.e. 32 bytes. The message never echoes the input. */
export function parseCredentialsKey(hex: string): Result<Buffer> {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    return fail('HUB_ERR_CONFIG_INVALID', 'CREDENTIALS_KEY must be 64 hexadecimal characters (32 bytes)');
  }
  return ok(Buffer.from(hex, 'hex'));
}

/**
 * A key's id: the first 8 hex characters of its SHA-256. Stable across restarts (no stored id
 * needed) and, being a hash prefix of a 256-bit random key, says nothing usable about the key.
 */
export function credentialsKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Options for {@link keyringFromCredentialsKey}. */
export interface CredentialsKeyringOptions {
  /** Keys retired by a rotation, still needed to open data sealed before it. */
  previousKeys?: readonly Buffer[];
  random?: Random;
}

/** The keyring for a deployment: `CREDENTIALS_KEY` seals, it and any previous keys open. */
export function keyringFromCredentialsKey(
  activeKey: Buffer,
  options: CredentialsKeyringOptions = {},
): CipherKeyring {
  const activeKeyId = credentialsKeyId(activeKey);
  const keys: CipherKey[] = [{ id: activeKeyId, key: activeKey }];
  for (const key of options.previousKeys ?? []) {
    const id = credentialsKeyId(key);
    // The same key listed as current and previous is harmless; skip it rather than fail startup.
    if (!keys.some((k) => k.id === id && k.key.equals(key))) keys.push({ id, key });
  }
  return createCipherKeyring({
    keys,
    activeKeyId,
    ...(options.random === undefined ? {} : { random: options.random }),
  });
}

interface EnvelopeParts {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

function parseEnvelope(envelope: string): EnvelopeParts | null {
  const parts = envelope.split('.');
  if (parts.length !== 5) return null;
  const [version, keyId, iv, tag, ciphertext] = parts as [string, string, string, string, string];
  if (version !== VERSION || !KEY_ID_PATTERN.test(keyId)) return null;
  const ivBytes = decode(iv);
  const tagBytes = decode(tag);
  const ciphertextBytes = decode(ciphertext);
  if (ivBytes?.length !== IV_BYTES || tagBytes?.length !== TAG_BYTES || !ciphertextBytes) return null;
  return { keyId, iv: ivBytes, tag: tagBytes, ciphertext: ciphertextBytes };
}

function encode(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Strict base64url: Node's decoder skips stray characters, so one envelope could have many spellings. */
function decode(text: string): Buffer | null {
  if (!BASE64URL_PATTERN.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function decryptFailed(cause?: unknown): HubError {
  return new HubError('HUB_ERR_DECRYPT_FAILED', cause === undefined ? {} : { cause });
}

function configInvalid(message: string): HubError {
  return new HubError('HUB_ERR_CONFIG_INVALID', { message });
}
