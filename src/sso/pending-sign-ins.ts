import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CipherKeyring } from '../credentials/index.js';
import type { Clock } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Kv } from '../kv/index.js';

/** A sign-in may take this long at the identity provider before it must be started again. */
export const PENDING_SIGN_IN_TTL_MS = 10 * 60_000;

/** One sign-in between its start and the provider's callback. */
export interface PendingSignIn {
  providerId: string;
  /** Same-site path to land on afterwards, already made safe at the start. */
  returnTo: string;
  /** SHA-256 of the browser binding cookie's value: only that browser may finish this sign-in. */
  bindingHash: string;
  /** RFC 7636 verifier. */
  codeVerifier: string;
  /** OpenID Connect Core §3.1.2.1 nonce, echoed in the ID token. */
  nonce: string;
  createdAt: number;
}

const recordSchema = z.object({
  v: z.literal(1),
  providerId: z.string(),
  returnTo: z.string(),
  bindingHash: z.string(),
  createdAt: z.number(),
  /** The verifier and the nonce, sealed by the keyring: never in the KV in clear. */
  sealed: z.string(),
});

const secretsSchema = z.object({ codeVerifier: z.string().min(43).max(128), nonce: z.string().min(1) });

/** SHA-256 as base64url: how a state or a binding value is stored. */
export function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

// The state only ever reaches the KV hashed, so a copy of the KV cannot forge a callback.
const keyOf = (state: string): string => `sso:pending:${digest(state)}`;
// The AAD names the state, so a sealed blob moved onto another record never opens.
const aadOf = (state: string): string => `sso_pending|${digest(state)}`;

/**
 * Pending sign-ins in the KV, shared by every instance, keyed by a hash of their `state` and
 * consumed once: of two callbacks with one state, only one finds the record (GETDEL).
 */
export class PendingSignIns {
  constructor(
    private readonly kv: Kv,
    private readonly keyring: CipherKeyring,
    private readonly clock: Clock,
  ) {}

  /** Stores the sign-in under `state`; set-if-absent, so a state can never be overwritten. */
  async put(state: string, pending: Omit<PendingSignIn, 'createdAt'>): Promise<void> {
    const { codeVerifier, nonce, ...visible } = pending;
    const record: z.infer<typeof recordSchema> = {
      v: 1,
      ...visible,
      createdAt: this.clock.now(),
      sealed: this.keyring.encrypt(JSON.stringify({ codeVerifier, nonce }), aadOf(state)),
    };
    const stored = await this.kv.setIfAbsent(keyOf(state), JSON.stringify(record), {
      ttlMs: PENDING_SIGN_IN_TTL_MS,
    });
    // 256 random bits never collide; if they did, reusing the record would mix two sign-ins.
    if (!stored) throw new HubError('HUB_ERR_INTERNAL', { message: 'Sign-in state collision' });
  }

  /** Consumes the sign-in of `state`; null when unknown, expired, already used or unreadable. */
  async take(state: string): Promise<PendingSignIn | null> {
    const text = await this.kv.getAndDelete(keyOf(state));
    if (text === null) return null;
    try {
      const record = recordSchema.safeParse(JSON.parse(text));
      if (!record.success) return null;
      const secrets = secretsSchema.safeParse(
        JSON.parse(this.keyring.decrypt(record.data.sealed, aadOf(state))),
      );
      if (!secrets.success) return null;
      const { v: _version, sealed: _sealed, ...visible } = record.data;
      return { ...visible, ...secrets.data };
    } catch {
      return null;
    }
  }
}
