import { exchangeAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { resumeClaimed, storeExchanged, type CheckedCallback } from './callback-store.js';
import { forcedClientAuth } from './client-auth.js';
import { openFlowSecrets, sdkClient, type FlowSecrets } from './flow-secrets.js';
import type { StateRecord } from './flow-store.js';
import { toSdkMetadata } from './metadata.js';
import { oauthFetch, observeStatus } from './oauth-fetch.js';
import type { OAuthParts } from './parts.js';
import { resourceOption } from './request-options.js';
import { sameOrigin } from './safe-urls.js';
import { classifyTokenFailure, sanitizeErrorCode } from './token-errors.js';
import { expiryFrom } from './token-expiry.js';
import type { StoredTokens } from './token-store.js';
import type { CallbackErrorCode, CallbackInput, CallbackResult } from './types.js';

// A state is 43 base64url characters; anything far from that is not one of ours (and not a KV key).
const STATE_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The redirect back from the AS. The order is the security (OA-01..10, OA-15, LD-02): nothing is
 * consumed and no AS `error` is acted on until the state is known, belongs to this server and
 * arrived in the browser bound to its flow; the state is then claimed atomically, so of many
 * concurrent callbacks exactly one reaches the token endpoint; `iss` is checked before the code is
 * redeemed; tokens are stored before the flow is marked complete and the state consumed, so a
 * callback whose token write failed can be retried without redeeming the code again. Never throws.
 */
export async function completeCallback(parts: OAuthParts, input: CallbackInput): Promise<CallbackResult> {
  try {
    return await handle(parts, input);
  } catch (error) {
    parts.logger.error(
      { serverName: input.serverName, errorName: error instanceof Error ? error.name : undefined },
      'OAuth callback failed unexpectedly',
    );
    return { ok: false, error: 'callback_failed' };
  }
}

async function handle(parts: OAuthParts, input: CallbackInput): Promise<CallbackResult> {
  const { logger } = parts;
  const facts = {
    serverName: input.serverName,
    has_state: input.state !== undefined && input.state !== '',
    has_code: input.code !== undefined && input.code !== '',
    has_error: input.error !== undefined,
  };
  const reject = (error: CallbackErrorCode, why: string): CallbackResult => {
    logger.warn({ ...facts, reason: why }, 'OAuth callback rejected');
    return { ok: false, error };
  };

  const state = input.state;
  if (state === undefined || state === '') return reject('missing_state', 'no state');
  if (!STATE_SHAPE.test(state)) return reject('invalid_state', 'malformed state');
  const record = await parts.flows.peekState(state);
  if (!record) return reject('invalid_state', 'unknown or expired state');
  // OA-15: a state minted for one server never completes another's callback path, and a state
  // completes only at the redirect URI its flow sent (users' servers share one that names no server).
  if (input.serverName !== null && record.serverName !== input.serverName) {
    return reject('invalid_state', 'state is for another server');
  }
  if (
    input.redirectUri === undefined ? input.serverName === null : record.redirectUri !== input.redirectUri
  ) {
    return reject('invalid_state', 'state is for another callback path');
  }
  const flow = await parts.flows.getFlow(record.flowId);
  if (!flow || flow.epoch !== record.epoch) return reject('invalid_state', 'flow cancelled or replaced');
  // OA-03/04/06: the browser must be the one bound to this flow; until then nothing changes.
  if (!input.isBound({ flowId: record.flowId, userId: record.userId })) {
    return reject('csrf_validation_failed', 'callback not bound to the flow');
  }

  // LD-02 / OA-05: set-if-absent on the state's claim; a concurrent or replayed callback loses it
  // and never reaches the token endpoint. The state itself stays until the tokens are stored.
  const checked: CheckedCallback = { state, record, reject };
  const claim = await parts.flows.claimState(state);
  if (!claim.won) return resumeClaimed(parts, checked, claim.claim);
  const after = await parts.flows.getFlow(record.flowId);
  if (!after || after.epoch !== record.epoch) return reject('invalid_state', 'flow cancelled meanwhile');

  const fail = async (error: CallbackErrorCode, why: string): Promise<CallbackResult> => {
    await parts.flows.finish(record.flowId, record.epoch, { status: 'FAILED', error });
    await parts.flows.dropState(state);
    return reject(error, why);
  };

  // RFC 9207 §2.4: check `iss` on every response, error responses included, before using it.
  if (!issAccepted(record, input.iss))
    return fail('callback_failed', 'iss missing or not the recorded issuer');
  if (input.error !== undefined) {
    // RFC 6749 §4.1.2.1 codes are [a-z_]; anything else (markup, OA-08) becomes a generic code.
    return fail(
      sanitizeErrorCode(input.error) ?? 'callback_failed',
      'authorization server returned an error',
    );
  }
  const code = input.code;
  if (code === undefined || code === '') return fail('missing_code', 'no code');

  const secrets = openFlowSecrets(parts.keyring, record.flowId, state, record.sealed);
  if (!secrets) return fail('callback_failed', 'flow secrets did not open');

  const tokens = await redeem(parts, record, secrets, code);
  if (!tokens) return fail('callback_failed', 'token endpoint refused the code');

  const stored: StoredTokens = {
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    scope: tokens.scope ?? record.scope ?? '',
    expires_at: expiryFrom(tokens.expires_in, parts.clock.now()),
    obtained_at: parts.clock.now(),
    issuer: record.issuer,
    resource: record.resource,
    clientRef: record.clientRef,
    binding: record.binding,
    ...(tokens.refresh_token === undefined ? {} : { refresh_token: tokens.refresh_token }),
  };
  return storeExchanged(parts, checked, stored);
}

/** Redeems the code at the token endpoint, once; null (logged by status and code only) when refused. */
async function redeem(
  parts: OAuthParts,
  record: StateRecord,
  secrets: FlowSecrets,
  code: string,
): Promise<OAuthTokens | null> {
  const fetch = oauthFetch(
    parts.fetchFor(record.serverName),
    secrets.headers,
    parts.settings.requestTimeoutMs,
  );
  const observed = observeStatus(fetch);
  try {
    return await exchangeAuthorization(record.as.issuer, {
      metadata: toSdkMetadata(record.as),
      clientInformation: sdkClient(secrets.client, record.redirectUri),
      authorizationCode: code,
      codeVerifier: secrets.codeVerifier,
      redirectUri: record.redirectUri,
      // RFC 8707 §2.2: the same resource as in the authorization request (OA-11), or none when
      // that request had none.
      ...resourceOption(secrets.sendResource !== false, record.resource),
      fetchFn: observed.fetch,
      ...(secrets.client.forcedAuthMethod === undefined
        ? {}
        : { addClientAuthentication: forcedClientAuth(secrets.client.forcedAuthMethod, secrets.client) }),
    });
  } catch (error) {
    // SE-08: the status and a sanitised code only; the AS's body never reaches logs or users.
    const failure = classifyTokenFailure(error, observed.lastStatus());
    parts.logger.warn(
      {
        flowId: record.flowId,
        serverName: record.serverName,
        failure: failure.kind,
        status: 'status' in failure ? failure.status : undefined,
        oauthError: failure.kind === 'rejected' ? failure.oauthError : undefined,
      },
      'OAuth code exchange failed',
    );
    return null;
  }
}

/**
 * RFC 9207 §2.4: with `authorization_response_iss_parameter_supported` the `iss` must be present;
 * when present it must be the recorded issuer (simple string comparison), which defeats mix-up
 * (OA-09, OA-10). Hand-configured endpoints know only an origin, so that is what they compare.
 */
function issAccepted(record: StateRecord, iss: string | undefined): boolean {
  if (iss === undefined || iss === '') return !record.as.issParameterSupported;
  return record.as.issuerMatch === 'exact' ? iss === record.issuer : sameOrigin(iss, record.issuer);
}
