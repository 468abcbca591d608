import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock, Random } from '../core/index.js';
import { HubError } from '../errors/index.js';

/**
 * Signs and checks the hub's browser cookie values. A value is `<expiry>.<nonce>.<mac>`: the expiry
 * (epoch ms) and a 128-bit random nonce sit under the HMAC with the purpose and the subject, so two
 * values are never alike (one per flow, one per sign-in) and a captured value dies at its expiry on
 * the server, whatever the browser does with `Max-Age`.
 */
export interface CookieSigner {
  /** A fresh value for `subject` under `purpose`, valid for `ttlMs` from now. */
  mint(purpose: string, subject: string, ttlMs: number): string;
  /**
   * True when the value was minted here for this purpose and subject and has not expired. The MAC
   * is compared in constant time; a missing or malformed value is false.
   */
  verify(purpose: string, subject: string, value: string | undefined): boolean;
}

/** Computes and checks the browser-binding cookie of a flow. */
export interface FlowBinding {
  /** A fresh binding value for the flow, valid for the binding lifetime. */
  value(flowId: string): string;
  /** Timing-safe; false for a missing, malformed, foreign or expired value. */
  verify(flowId: string, cookieValue: string | undefined): boolean;
}

// Domain separation: the same key may sign values of other purposes, and a MAC minted for one
// purpose must never verify for another; the version lets the format change without ambiguity.
const DOMAIN = 'switchboard/cookie/v2\n';
const MIN_SECRET_BYTES = 32;
const NONCE_BYTES = 16;
const VALUE_SHAPE = /^\d{1,15}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

/** The purpose of a flow-binding value. */
export const FLOW_BINDING_PURPOSE = 'oauth-flow-binding';
/** How long a binding value is accepted: the lifetime of a flow's state. */
export const FLOW_BINDING_TTL_MS = 10 * 60_000;

/** Builds the {@link CookieSigner}; throws `HUB_ERR_SECRET_MISSING` for a key shorter than 32 bytes. */
export function createCookieSigner(secret: Buffer, deps: { clock: Clock; random: Random }): CookieSigner {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new HubError('HUB_ERR_SECRET_MISSING', {
      message: 'The browser cookie secret is shorter than 32 bytes',
    });
  }
  const key = Buffer.from(secret);
  // NUL-separated: the purpose is ours, the expiry digits and the nonce base64url hold no NUL, so
  // the input splits into its fields one way only and no two values share a MAC input.
  const mac = (purpose: string, subject: string, expiry: string, nonce: string): Buffer =>
    createHmac('sha256', key).update(`${DOMAIN}${purpose}\0${subject}\0${expiry}\0${nonce}`, 'utf8').digest();

  return {
    mint(purpose, subject, ttlMs) {
      const expiry = String(Math.floor(deps.clock.now() + ttlMs));
      const nonce = deps.random.bytes(NONCE_BYTES).toString('base64url');
      return `${expiry}.${nonce}.${mac(purpose, subject, expiry, nonce).toString('base64url')}`;
    },
    verify(purpose, subject, value) {
      if (typeof value !== 'string' || !VALUE_SHAPE.test(value)) return false;
      const [expiry = '', nonce = '', given = ''] = value.split('.');
      // Compared as text: base64url's last character carries unused bits, so decoding first would
      // accept several spellings of one MAC (a value the holder could alter and still present).
      const expected = Buffer.from(mac(purpose, subject, expiry, nonce).toString('base64url'));
      const presented = Buffer.from(given);
      const authentic = presented.length === expected.length && timingSafeEqual(presented, expected);
      // Both checks always run, so the time taken says nothing about which one failed.
      const current = Number(expiry) > deps.clock.now();
      return authentic && current;
    },
  };
}

/**
 * The binding ties a callback to the browser that started (or bound) the flow, which is what stops
 * LibreChat's account takeover: a `state` alone is not enough (OA-03, OA-04). Values expire with the
 * flow's state (V-10).
 */
export function createFlowBinding(
  secret: Buffer,
  deps: { clock: Clock; random: Random; ttlMs?: number },
): FlowBinding {
  const signer = createCookieSigner(secret, deps);
  const ttlMs = deps.ttlMs ?? FLOW_BINDING_TTL_MS;
  return {
    value: (flowId) => signer.mint(FLOW_BINDING_PURPOSE, flowId, ttlMs),
    verify: (flowId, cookieValue) => signer.verify(FLOW_BINDING_PURPOSE, flowId, cookieValue),
  };
}
