import { createHmac, timingSafeEqual } from 'node:crypto';
import { HubError } from '../errors/index.js';

/** Computes and checks the browser-binding cookie of a flow (API.md "Cookies"). */
export interface FlowBinding {
  /** base64url HMAC-SHA256 of the flow id. */
  value(flowId: string): string;
  /** Timing-safe; false for a missing or malformed value. */
  verify(flowId: string, cookieValue: string | undefined): boolean;
}

// Domain separation: the hub may key other HMACs (the session cookie) with the same secret, and a
// MAC minted for one purpose must never verify for another.
const PURPOSE = 'switchboard/oauth-flow-binding/v1\n';
const MIN_SECRET_BYTES = 32;

/**
 * The binding ties a callback to the browser that started (or bound) the flow, which is what stops
 * LibreChat's account takeover: a `state` alone is not enough (OA-03, OA-04).
 */
export function createFlowBinding(secret: Buffer): FlowBinding {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new HubError('HUB_ERR_SECRET_MISSING', {
      message: 'The OAuth binding secret is shorter than 32 bytes',
    });
  }
  const key = Buffer.from(secret);
  const mac = (flowId: string): Buffer =>
    createHmac('sha256', key)
      .update(PURPOSE + flowId, 'utf8')
      .digest();

  return {
    value: (flowId) => mac(flowId).toString('base64url'),
    verify(flowId, cookieValue) {
      if (typeof cookieValue !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(cookieValue)) return false;
      const given = Buffer.from(cookieValue, 'base64url');
      const expected = mac(flowId);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}
