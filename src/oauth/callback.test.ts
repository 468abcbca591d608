import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe('completeCallback against a stub AS', () => {
  let stub: StubServer;
  let as: StubAs;
  let kit: ServiceKit;
  beforeEach(async () => {
    stub = await startStubServer();
    as = installStubAs(stub);
    kit = await makeServiceKit();
  });
  afterEach(async () => {
    await kit.close();
    await stub.stop();
  });

  const ctx = (userId = 'alice') => ({
    userId,
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`),
  });
  const bound = (): boolean => true;
  const tokenRequests = () => stub.requests.filter((r) => r.path === '/token');
  const callback = (input: Partial<CallbackInput>) =>
    kit.service.completeCallback({ serverName: 'srv', isBound: bound, iss: stub.origin, ...input });

  it('completes: exchanges with its own verifier and resource, stores tokens, marks COMPLETED (OA-11)', async () => {
    const flow = await kit.service.initiate(ctx());
    const challenge = new URL(flow.authorizationUrl).searchParams.get('code_challenge');
    const result = await callback({ code: 'code-1', state: flow.state });
    expect(result).toEqual({ ok: true, flowId: 'alice:srv', userId: 'alice', serverName: 'srv' });

    const [exchange] = tokenRequests();
    const form = new URLSearchParams(exchange?.body);
    expect(form.get('grant_type')).toBe('authorization_code');
    expect(form.get('resource')).toBe(`${stub.origin}/mcp`);
    expect(form.get('redirect_uri')).toBe('https://hub.example/api/mcp/srv/oauth/callback');
    const verifier = form.get('code_verifier') ?? '';
    expect(createHash('sha256').update(verifier).digest('base64url')).toBe(challenge);

    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'COMPLETED', error: null });
    const meta = await kit.service.tokenMetadata('alice', 'srv');
    expect(meta).toEqual({
      token_type: 'Bearer',
      expires_at: kit.clock.now() + 3_600_000,
      scope: 'mcp:tools',
    });
    expect(JSON.stringify(meta)).not.toMatch(/at-|rt-/);
    expect(await kit.service.authState(ctx())).toBe('authorized');
  });

  it('OA-12: each of two concurrent flows completes with its own verifier', async () => {
    const [one, two] = await Promise.all([kit.service.initiate(ctx()), kit.service.initiate(ctx())]);
    const challenges = [one, two].map((f) => new URL(f.authorizationUrl).searchParams.get('code_challenge'));
    expect((await callback({ code: 'c2', state: two.state })).ok).toBe(true);
    expect((await callback({ code: 'c1', state: one.state })).ok).toBe(true);
    const verifiers = tokenRequests().map((r) => new URLSearchParams(r.body).get('code_verifier') ?? '');
    const derived = verifiers.map((v) => createHash('sha256').update(v).digest('base64url'));
    expect(derived).toEqual([challenges[1], challenges[0]]);
  });

  it('OA-01: no state → missing_state, no token request, nothing stored', async () => {
    await kit.service.initiate(ctx());
    expect(await callback({ code: 'c' })).toEqual({ ok: false, error: 'missing_state' });
    expect(tokenRequests()).toHaveLength(0);
    expect(await kit.service.tokenMetadata('alice', 'srv')).toBeNull();
  });

  it('OA-02: an unknown state → invalid_state; the log says has_state and never the value', async () => {
    const unknown = 'A'.repeat(43);
    expect(await callback({ code: 'c', state: unknown })).toEqual({ ok: false, error: 'invalid_state' });
    expect(tokenRequests()).toHaveLength(0);
    const lines = kit.logLines.join('\n');
    expect(lines).toContain('"has_state":true');
    expect(lines).not.toContain(unknown);
  });

  it('OA-15: a state minted for another server → invalid_state, and the state stays usable', async () => {
    const flow = await kit.service.initiate(ctx());
    expect(await callback({ serverName: 'other', code: 'c', state: flow.state })).toEqual({
      ok: false,
      error: 'invalid_state',
    });
    expect(tokenRequests()).toHaveLength(0);
    expect((await callback({ code: 'c', state: flow.state })).ok).toBe(true);
  });

  it('OA-03/04: an unbound browser → csrf_validation_failed; nothing consumed or stored, flow PENDING', async () => {
    const flow = await kit.service.initiate(ctx());
    const seen: unknown[] = [];
    const result = await callback({
      code: 'c',
      state: flow.state,
      isBound: (f) => {
        seen.push(f);
        return false;
      },
    });
    expect(result).toEqual({ ok: false, error: 'csrf_validation_failed' });
    expect(seen).toEqual([{ flowId: 'alice:srv', userId: 'alice' }]);
    expect(tokenRequests()).toHaveLength(0);
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'PENDING', error: null });
    expect(await kit.repos.credentials.listForUser('alice')).toEqual([]);
    expect(await kit.repos.credentials.listForUser('bob')).toEqual([]);
    // The owner's own browser can still finish.
    expect((await callback({ code: 'c', state: flow.state })).ok).toBe(true);
  });

  it('OA-06: an AS error from an unbound browser does not fail the victim’s flow', async () => {
    const flow = await kit.service.initiate(ctx());
    const result = await callback({ error: 'access_denied', state: flow.state, isBound: () => false });
    expect(result).toEqual({ ok: false, error: 'csrf_validation_failed' });
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'PENDING', error: null });
  });

  it('a bound AS error fails the flow with its code; markup becomes callback_failed (OA-08)', async () => {
    const first = await kit.service.initiate(ctx());
    expect(await callback({ error: 'access_denied', state: first.state })).toEqual({
      ok: false,
      error: 'access_denied',
    });
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'FAILED', error: 'access_denied' });
    const second = await kit.service.initiate(ctx());
    expect(await callback({ error: '<script>alert(1)</script>', state: second.state })).toEqual({
      ok: false,
      error: 'callback_failed',
    });
    expect(kit.logLines.join('\n')).not.toContain('<script>');
  });

  it('bound callback without a code → missing_code, no token request', async () => {
    const flow = await kit.service.initiate(ctx());
    expect(await callback({ state: flow.state })).toEqual({ ok: false, error: 'missing_code' });
    expect(tokenRequests()).toHaveLength(0);
  });

  it('OA-09: the AS promises iss and the callback lacks it → refused before the token request', async () => {
    const flow = await kit.service.initiate(ctx());
    expect(await callback({ code: 'c', state: flow.state, iss: undefined })).toEqual({
      ok: false,
      error: 'callback_failed',
    });
    expect(tokenRequests()).toHaveLength(0);
    expect(as.counts.codeGrants).toBe(0);
  });

  it('OA-10: iss of another AS → refused; the code goes to no token endpoint', async () => {
    const flow = await kit.service.initiate(ctx());
    const result = await callback({ code: 'secret-code', state: flow.state, iss: 'https://evil.example' });
    expect(result).toEqual({ ok: false, error: 'callback_failed' });
    expect(tokenRequests()).toHaveLength(0);
    expect(await kit.service.flowStatus('alice:srv')).toMatchObject({ status: 'FAILED' });
  });

  it('OA-05 / LD-02: a replay and 50 concurrent callbacks reach the token endpoint once', async () => {
    const flow = await kit.service.initiate(ctx());
    const results = await Promise.all(
      Array.from({ length: 50 }, () => callback({ code: 'c', state: flow.state })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.error === 'invalid_state')).toHaveLength(49);
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(tokenRequests()).toHaveLength(1);
    const rows = (await kit.repos.credentials.listForUser('alice')).filter((r) => r.kind === 'oauth_tokens');
    expect(rows).toHaveLength(1);
  });

  it('cancel makes the flow’s states unusable', async () => {
    const flow = await kit.service.initiate(ctx());
    expect(await kit.service.cancel('alice:srv')).toBe(true);
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(tokenRequests()).toHaveLength(0);
    expect(await kit.service.cancel('alice:srv')).toBe(false);
  });

  it('OA-07: an expired state is rejected', async () => {
    const flow = await kit.service.initiate(ctx());
    kit.advance(11 * 60_000);
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'invalid_state' });
    expect(await kit.service.flowStatus('alice:srv')).toBeNull();
  });

  it('SE-08: a token endpoint error echoing secrets → generic callback_failed, only codes in the log', async () => {
    const flow = await kit.service.initiate(ctx());
    as.failTokenWith({
      status: 400,
      body: { error: 'invalid_client', error_description: 'bad client_secret=hunter2-echo' },
    });
    expect(await callback({ code: 'c', state: flow.state })).toEqual({ ok: false, error: 'callback_failed' });
    const lines = kit.logLines.join('\n');
    expect(lines).not.toContain('hunter2-echo');
    expect(lines).toContain('"oauthError":"invalid_client"');
    expect(await kit.service.flowStatus('alice:srv')).toEqual({ status: 'FAILED', error: 'callback_failed' });
  });

  it('wakes a waiter when the callback completes', async () => {
    const flow = await kit.service.initiate(ctx());
    const waiting = kit.service.waitForFlow('alice:srv', 20_000);
    await new Promise((r) => setTimeout(r, 20));
    await callback({ code: 'c', state: flow.state });
    expect(await waiting).toEqual({ status: 'COMPLETED', error: null });
  });

  it('system flows work the same, under the system user', async () => {
    const flow = await kit.service.initiate(ctx('system'));
    expect(flow.flowId).toBe('system:srv');
    const result = await callback({ code: 'c', state: flow.state });
    expect(result).toMatchObject({ ok: true, userId: 'system' });
    expect(await kit.service.tokenMetadata('system', 'srv')).not.toBeNull();
  });

  it('never logs a minted secret, the state, the code or the verifier (SE-05)', async () => {
    const flow = await kit.service.initiate(ctx());
    await callback({ code: 'the-auth-code-xyz', state: flow.state });
    const verifier = new URLSearchParams(tokenRequests()[0]?.body).get('code_verifier') ?? 'none';
    const lines = kit.logLines.join('\n');
    for (const secret of [...as.minted, flow.state, 'the-auth-code-xyz', verifier]) {
      expect(lines).not.toContain(secret);
    }
  });
});
