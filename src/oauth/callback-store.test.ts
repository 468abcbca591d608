import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryKv, withOverrides, type Kv } from '../kv/index.js';
import type { CredentialsRepository } from '../store/index.js';
import { stateClaimKey, stateKey } from './flow-ids.js';
import {
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubAs,
  type StubServer,
} from './oauth-test-kit.js';
import type { CallbackInput } from './types.js';

/** A credentials repository whose `put` fails while `failures.left` is above zero, like a database restarting. */
function failingWrites(failures: { left: number }) {
  return (real: CredentialsRepository): CredentialsRepository => ({
    ...real,
    put: async (input) => {
      if (failures.left > 0) {
        failures.left -= 1;
        throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      }
      return real.put(input);
    },
  });
}

describe('callback: the token write fails or the instance dies after the code exchange (FT-05, FT-06)', () => {
  let stub: StubServer;
  let as: StubAs;
  let kit: ServiceKit;
  const failures = { left: 0 };
  beforeEach(async () => {
    stub = await startStubServer();
    as = installStubAs(stub);
    failures.left = 0;
    kit = await makeServiceKit({ credentials: failingWrites(failures) });
  });
  afterEach(async () => {
    await kit.close();
    await stub.stop();
  });

  const ctx = () => ({
    userId: 'alice',
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`),
  });
  const callback = (input: Partial<CallbackInput>) =>
    kit.service.completeCallback({ serverName: 'srv', isBound: () => true, iss: stub.origin, ...input });
  const tokenRows = async () =>
    (await kit.repos.credentials.listForUser('alice')).filter((r) => r.kind === 'oauth_tokens');

  it('a write that fails twice is retried within the callback, which completes', async () => {
    const flow = await kit.service.initiate(ctx());
    failures.left = 2;
    expect((await callback({ code: 'c', state: flow.state })).ok).toBe(true);
    expect(failures.left).toBe(0);
    expect(as.counts.codeGrants).toBe(1);
    expect(await tokenRows()).toHaveLength(1);
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'COMPLETED', error: null });
    // Completed means consumed: a replay is refused, and nothing is left in the KV for the state.
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(await kit.kv.get(stateKey(flow.state))).toBeNull();
    expect(await kit.kv.get(stateClaimKey(flow.state))).toBeNull();
  });

  it('a write that keeps failing → retryable tokens_not_saved, flow still open; the same callback later completes without a second token request', async () => {
    const flow = await kit.service.initiate(ctx());
    failures.left = 1_000;
    const first = await callback({ code: 'c', state: flow.state });
    expect(first).toEqual({ ok: false, error: 'tokens_not_saved', retryable: true });
    expect(await tokenRows()).toEqual([]);
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'PENDING', error: null });
    expect(await kit.service.authState(ctx())).toBe('none');
    // Held for the retry, sealed: no token the AS minted is in the KV in clear.
    const held = (await kit.kv.get(stateClaimKey(flow.state))) ?? '';
    expect(held).toContain('"phase":"exchanged"');
    for (const secret of as.minted) expect(held).not.toContain(secret);

    // Still down: the retry fails the same way, and the code is still not sent again.
    expect(await callback({ code: 'c', state: flow.state })).toMatchObject({ error: 'tokens_not_saved' });
    failures.left = 0;
    const retried = await callback({ code: 'c', state: flow.state });
    expect(retried).toEqual({ ok: true, flowId: 'alice:srv', userId: 'alice', serverName: 'srv' });
    expect(as.counts.codeGrants).toBe(1);
    expect(await tokenRows()).toHaveLength(1);
    expect(await kit.service.authState(ctx())).toBe('authorized');
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'COMPLETED', error: null });
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    const lines = kit.logLines.join('\n');
    for (const secret of [...as.minted, flow.state]) expect(lines).not.toContain(secret);
    expect(lines).toContain('"errorCode":"SQLITE_BUSY"');
  });

  it('concurrent retries of a held sign-in store one token set and never redeem the code again', async () => {
    const flow = await kit.service.initiate(ctx());
    failures.left = 1_000;
    expect(await callback({ code: 'c', state: flow.state })).toMatchObject({ error: 'tokens_not_saved' });
    failures.left = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => callback({ code: 'c', state: flow.state })),
    );
    expect(results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (!r.ok) expect(r.error).toBe('invalid_state');
    expect(as.counts.codeGrants).toBe(1);
    expect(await tokenRows()).toHaveLength(1);
  });

  it('a sign-in cancelled while its tokens were held is not completed by a retry', async () => {
    const flow = await kit.service.initiate(ctx());
    failures.left = 1_000;
    await callback({ code: 'c', state: flow.state });
    expect(await kit.service.cancel('alice:srv')).toBe(true);
    failures.left = 0;
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(await tokenRows()).toEqual([]);
    expect(as.counts.codeGrants).toBe(1);
  });

  it('held tokens do not overwrite a later sign-in that completed the flow', async () => {
    const first = await kit.service.initiate(ctx());
    failures.left = 1_000;
    await callback({ code: 'c1', state: first.state });
    failures.left = 0;
    const second = await kit.service.initiate(ctx());
    expect((await callback({ code: 'c2', state: second.state })).ok).toBe(true);
    const [row] = await tokenRows();
    expect(await callback({ code: 'c1', state: first.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(await tokenRows()).toEqual([row]);
    expect(await kit.kv.get(stateClaimKey(first.state))).toBeNull();
  });

  it('FT-06: a claim left "exchanging" by a dead instance → refused without a token request; later called interrupted; a new sign-in works at once', async () => {
    const flow = await kit.service.initiate(ctx());
    // What an instance killed between the code exchange and holding the tokens leaves behind.
    await kit.kv.set(stateClaimKey(flow.state), JSON.stringify({ phase: 'exchanging', at: kit.clock.now() }));
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    kit.advance(2 * 8_000 + 1);
    expect(await callback({ code: 'c', state: flow.state })).toEqual({
      ok: false,
      error: 'sign_in_interrupted',
    });
    expect(as.counts.codeGrants).toBe(0);
    expect(await tokenRows()).toEqual([]);
    expect(await kit.service.authState(ctx())).toBe('none');

    const again = await kit.service.initiate(ctx());
    expect((await callback({ code: 'c2', state: again.state })).ok).toBe(true);
    expect(as.counts.codeGrants).toBe(1);
    expect(await kit.service.authState(ctx())).toBe('authorized');
  });
});

describe('callback: tokens that can be neither stored nor held', () => {
  let stub: StubServer;
  let as: StubAs;
  let kit: ServiceKit;
  let kv: Kv;
  const failures = { left: 0 };
  beforeEach(async () => {
    stub = await startStubServer();
    as = installStubAs(stub);
    kv = createMemoryKv({ clock: { now: () => Date.now() } });
    // The KV refuses the write that would hold the tokens; everything else works.
    const refusing: Kv = withOverrides(kv, {
      set: (key, value, opts) =>
        key.startsWith('oauth:state-claim:')
          ? Promise.reject(new Error('KV down'))
          : kv.set(key, value, opts),
    });
    kit = await makeServiceKit({ kv: refusing, credentials: failingWrites(failures) });
  });
  afterEach(async () => {
    await kit.close();
    await kv.close();
    await stub.stop();
  });

  it('end the flow as callback_failed (a retry could not succeed), not as a retryable error', async () => {
    const flow = await kit.service.initiate({
      userId: 'alice',
      serverName: 'srv',
      serverUrl: `${stub.origin}/mcp`,
      config: serverConfig(`${stub.origin}/mcp`),
    });
    failures.left = 1_000;
    const result = await kit.service.completeCallback({
      serverName: 'srv',
      isBound: () => true,
      iss: stub.origin,
      code: 'c',
      state: flow.state,
    });
    expect(result).toEqual({ ok: false, error: 'callback_failed' });
    expect(as.counts.codeGrants).toBe(1);
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'FAILED', error: 'callback_failed' });
  });
});
