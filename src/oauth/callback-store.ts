import { needsAuthKey } from './flow-ids.js';
import type { StateClaim, StateRecord } from './flow-store.js';
import { openHeldTokens, sealHeldTokens } from './held-tokens.js';
import type { OAuthParts } from './parts.js';
import type { StoredTokens } from './token-store.js';
import type { CallbackErrorCode, CallbackResult } from './types.js';

/** Writes of the tokens tried within one callback; a retried callback gets as many again. */
const SAVE_ATTEMPTS = 3;
/**
 * No further attempt once this long has passed: a person is waiting on the page, and a database
 * that blocks each write until its own timeout (SQLite's busy wait, PostgreSQL's statement
 * timeout) would otherwise hold them for several of those.
 */
const SAVE_BUDGET_MS = 5_000;

/** A callback past its checks: the state, its record, and how a refusal is logged. */
export interface CheckedCallback {
  state: string;
  record: StateRecord;
  reject: (error: CallbackErrorCode, why: string) => CallbackResult;
}

/**
 * After the code exchange: the tokens are first held (sealed) in the state's claim, then written,
 * a few times with a short back-off. Only stored tokens complete the flow and consume the state;
 * until then the same callback can be retried (FT-05), and the retry stores the held tokens
 * without the single-use code going to the AS again.
 */
export async function storeExchanged(
  parts: OAuthParts,
  callback: CheckedCallback,
  tokens: StoredTokens,
): Promise<CallbackResult> {
  const held = await hold(parts, callback, tokens);
  if (await save(parts, callback.record, tokens)) return complete(parts, callback);
  if (held) return notSaved(callback);
  // Neither stored nor held: the tokens die with this request, and only a new sign-in helps.
  await parts.flows.finish(callback.record.flowId, callback.record.epoch, {
    status: 'FAILED',
    error: 'callback_failed',
  });
  await parts.flows.dropState(callback.state);
  return callback.reject('callback_failed', 'tokens could be neither stored nor held');
}

/**
 * A callback whose state another callback claimed: a replay, a concurrent duplicate, or the user
 * retrying after the tokens could not be stored. Only the last goes on, with the held tokens.
 */
export async function resumeClaimed(
  parts: OAuthParts,
  callback: CheckedCallback,
  claim: StateClaim | null,
): Promise<CallbackResult> {
  const { record, state, reject } = callback;
  if (claim?.phase !== 'exchanged' || claim.tokens === undefined) {
    // The exchange is bounded by the request timeout: a claim still exchanging long after that
    // belongs to a callback that died. Its code may have been redeemed, so it is never sent again.
    if (claim !== null && parts.clock.now() - claim.at > 2 * parts.settings.requestTimeoutMs) {
      return reject('sign_in_interrupted', 'an earlier callback stopped before storing its tokens');
    }
    return reject('invalid_state', 'state already used');
  }
  const flow = await parts.flows.getFlow(record.flowId);
  if (flow?.status !== 'PENDING' || flow.epoch !== record.epoch) {
    // Cancelled, or completed by a later sign-in: these older tokens must not replace its outcome.
    await parts.flows.dropState(state);
    return reject('invalid_state', 'flow ended before the held tokens were stored');
  }
  const tokens = openHeldTokens(parts.keyring, record.flowId, state, claim.tokens);
  if (!tokens) {
    await parts.flows.finish(record.flowId, record.epoch, { status: 'FAILED', error: 'callback_failed' });
    await parts.flows.dropState(state);
    return reject('callback_failed', 'held tokens did not open');
  }
  if (await save(parts, record, tokens)) return complete(parts, callback);
  return notSaved(callback);
}

async function hold(parts: OAuthParts, callback: CheckedCallback, tokens: StoredTokens): Promise<boolean> {
  const { record, state } = callback;
  try {
    await parts.flows.holdTokens(state, sealHeldTokens(parts.keyring, record.flowId, state, tokens));
    return true;
  } catch (error) {
    parts.logger.warn(
      { flowId: record.flowId, errorName: errorName(error) },
      'OAuth tokens could not be held for a retry',
    );
    return false;
  }
}

/** True once the tokens are stored; a failed write is logged by its kind only, never its values. */
async function save(parts: OAuthParts, record: StateRecord, tokens: StoredTokens): Promise<boolean> {
  const started = parts.clock.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      await parts.tokens.save(record.userId, record.serverName, tokens);
      return true;
    } catch (error) {
      const last = attempt >= SAVE_ATTEMPTS || parts.clock.now() - started >= SAVE_BUDGET_MS;
      parts.logger[last ? 'error' : 'warn'](
        { flowId: record.flowId, attempt, errorName: errorName(error), errorCode: errorCode(error) },
        'Storing OAuth tokens failed',
      );
      if (last) return false;
      await parts.sleep(backoff(parts, attempt));
    }
  }
}

/** Tokens first, then the flow: a flow reported complete always has its tokens. */
async function complete(parts: OAuthParts, callback: CheckedCallback): Promise<CallbackResult> {
  const { record, state } = callback;
  try {
    await parts.kv.delete(needsAuthKey(record.userId, record.serverName));
    await parts.flows.finish(record.flowId, record.epoch, { status: 'COMPLETED' });
    await parts.flows.dropState(state);
  } catch (error) {
    // The tokens are stored: the user is authorized even if waiters learn it only by their timeout.
    parts.logger.warn(
      { flowId: record.flowId, errorName: errorName(error) },
      'OAuth flow completion could not be recorded',
    );
  }
  parts.logger.info(
    { flowId: record.flowId, serverName: record.serverName, issuer: record.issuer },
    'OAuth flow completed',
  );
  return { ok: true, flowId: record.flowId, userId: record.userId, serverName: record.serverName };
}

/** The flow stays open and the tokens held: the user retries the same callback. */
function notSaved(callback: CheckedCallback): CallbackResult {
  callback.reject('tokens_not_saved', 'tokens held, not yet stored');
  return { ok: false, error: 'tokens_not_saved', retryable: true };
}

/** Exponential back-off with full jitter, so instances retrying one database do not move in step. */
function backoff(parts: OAuthParts, attempt: number): number {
  const ceiling = parts.settings.retryBaseMs * 2 ** (attempt - 1);
  return Math.floor((parts.random.bytes(4).readUInt32BE(0) / 0x1_0000_0000) * ceiling);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** A driver's error code (`SQLITE_BUSY`, a PostgreSQL SQLSTATE): says what failed, holds no data. */
function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
