import { isIP } from 'node:net';
import type { buildConnector } from 'undici';
import type { IpAddress } from './address-ranges.js';
import { egressDenied } from './egress-errors.js';
import { type EgressTarget, targetOf } from './egress-target.js';

/** undici's connector: opens the socket for one origin of the pool. */
export type Connector = buildConnector.connector;

/**
 * Wraps `dial` so every socket the dispatcher opens goes to an address `pick` has checked
 * (docs/security.md, "Egress"): `pick` resolves the host once and judges every answer, and `dial` is
 * handed that address instead of the name, so nothing can resolve the name a second time and be
 * rebound to an internal address (SS-07). TLS still verifies the certificate against, and sends
 * SNI for, the original host name (RFC 6066 §3 wants it without a trailing dot).
 */
export function createPinnedConnector(
  pick: (target: EgressTarget) => Promise<IpAddress>,
  dial: Connector,
): Connector {
  return (options, callback) => {
    const target = targetOf(options.protocol, options.hostname, options.port);
    if (target === undefined) {
      callback(egressDenied('Destination not allowed: only http and https URLs are'), null);
      return;
    }
    void pick(target).then(
      (address) => {
        const servername =
          options.servername ??
          (isIP(target.hostname) === 0 ? target.hostname.replace(/\.$/, '') : undefined);
        try {
          const sni = servername === undefined || servername === '' ? {} : { servername };
          dial({ ...options, hostname: address.toString(), ...sni }, callback);
        } catch (error) {
          callback(error instanceof Error ? error : new Error('connect failed'), null);
        }
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error('connect refused'), null),
    );
  };
}
