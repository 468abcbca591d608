import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../core/index.js';
import { isHubError } from '../errors/index.js';
import { createMemoryKv, withOverrides, type Kv } from '../kv/index.js';
import { refreshLockName } from './flow-ids.js';
import {
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubRequest,
  type StubServer,
} from './oauth-test-kit.js';
import type { OAuthServerContext } from './types.js';

/** A memory KV whose refresh locks report the wait each caller asked for. */
function recordingKv(): { kv: Kv; waits: number[] } {
  const inner = createMemoryKv({ clock: systemClock });
  const waits: number[] = [];
  const kv: Kv = withOverrides(inner, {
    withLock: (name, opts, fn) => {
      if (name.startsWith('oauth:refresh:')) waits.push(opts.waitMs);
      return inner.withLock(name, opts, fn);
    },
  });
  return { kv, waits };
}

describe('admin OAuth request options from librechat.yaml', () => {
  let stub: StubServer;
  let kit: ServiceKit;
  let waits: number[];
  beforeEach(async () => {
    stub = await startStubServer();
    installStubAs(stub);
    const recording = recordingKv();
    waits = recording.waits;
    kit = await makeServiceKit({ kv: recording.kv, settings: { refreshLockWaitMs: 4_321 } });
  });
  afterEach(async () => {
    await kit.close();
    await kit.kv.close();
    await stub.stop();
  });

  const ctx = (
    extra: Record<string, unknown> = {},
    serverUrl = `${stub.origin}/mcp`,
  ): OAuthServerContext => ({
    userId: 'alice',
    serverName: 'srv',
    serverUrl,
    config: serverConfig(`${stub.origin}/mcp`, extra),
  });
  const tokenForms = (grant: string): URLSearchParams[] =>
    stub.requests
      .filter((r: StubRequest) => r.path === '/token')
      .map((r) => new URLSearchParams(r.body))
      .filter((form) => form.get('grant_type') === grant);

  /** Runs a whole authorization; returns the authorization URL the browser was sent to. */
  async function authorize(context: OAuthServerContext): Promise<URL> {
    const flow = await kit.service.initiate(context);
    const done = await kit.service.completeCallback({
      serverName: 'srv',
      code: 'c',
      state: flow.state,
      iss: stub.origin,
      isBound: () => true,
    });
    expect(done.ok).toBe(true);
    return new URL(flow.authorizationUrl);
  }

  /** Makes the stored token stale and asks for one, which refreshes it. */
  async function refreshOnce(context: OAuthServerContext): Promise<string | null> {
    kit.advance(3_600_000 + 1);
    return kit.service.getAccessToken(context);
  }

  describe('oauthRefreshWaitTimeout', () => {
    it('a refresh waits the server’s own time (ms) for the refresh lock', async () => {
      const context = ctx({ oauthRefreshWaitTimeout: 1_234 });
      await authorize(context);
      expect(await refreshOnce(context)).toMatch(/^at-/);
      expect(waits).toEqual([1_234]);
    });

    it('is clamped to 30 s, as LibreChat clamps it; unset, the hub’s own wait applies', async () => {
      const long = ctx({ oauthRefreshWaitTimeout: 600_000 });
      await authorize(long);
      await refreshOnce(long);
      await kit.service.deleteTokens('alice', 'srv');
      const unset = ctx();
      await authorize(unset);
      await refreshOnce(unset);
      expect(waits).toEqual([30_000, 4_321]);
    });

    it('a lock held elsewhere longer than the server’s wait → HUB_ERR_OAUTH_TOKEN_FAILED, nothing sent to the AS', async () => {
      const context = ctx({ oauthRefreshWaitTimeout: 1 });
      await authorize(context);
      let release = (): void => undefined;
      let acquired = (): void => undefined;
      const held = new Promise<void>((resolve) => (acquired = resolve));
      // Another instance holds the refresh lock well past the hub's default wait, which would time the test out.
      const holder = kit.kv.withLock(refreshLockName('alice', 'srv'), { ttlMs: 60_000, waitMs: 0 }, () => {
        acquired();
        return new Promise<void>((resolve) => (release = resolve));
      });
      await held;
      const error = await refreshOnce(context).then(
        () => null,
        (e: unknown) => e,
      );
      release();
      await holder;
      expect(isHubError(error, 'HUB_ERR_OAUTH_TOKEN_FAILED')).toBe(true);
      expect(waits).toEqual([0, 1]); // the holder's try-once, then the refresh's own wait
      expect(tokenForms('refresh_token')).toHaveLength(0);
    });
  });

  describe('oauth.send_resource_parameter', () => {
    it('false: no resource in the authorization request, the code exchange or the refresh', async () => {
      const context = ctx({ oauth: { send_resource_parameter: false } });
      const url = await authorize(context);
      expect(url.searchParams.has('resource')).toBe(false);
      expect(url.searchParams.get('state')).not.toBeNull();
      expect(await refreshOnce(context)).toMatch(/^at-/);
      const [code] = tokenForms('authorization_code');
      const [refresh] = tokenForms('refresh_token');
      expect(code?.has('resource')).toBe(false);
      expect(code?.get('code')).toBe('c');
      expect(refresh?.has('resource')).toBe(false);
      expect(refresh?.get('refresh_token')).toMatch(/^rt-/);
    });

    it('false: tokens still record the resource the hub meant, so they reach only URLs it covers', async () => {
      const context = ctx({ oauth: { send_resource_parameter: false } });
      await authorize(context);
      expect(await kit.service.getAccessToken(context)).toMatch(/^at-/);
      expect(await kit.service.authState(context)).toBe('authorized');
      for (const other of [`${stub.origin}/other`, `${stub.origin}/mcpx`]) {
        const elsewhere = ctx({ oauth: { send_resource_parameter: false } }, other);
        expect(await kit.service.getAccessToken(elsewhere)).toBeNull();
        expect(await kit.service.authState(elsewhere)).toBe('none');
      }
      // After a refresh that also left `resource` out, the binding is the same.
      expect(await refreshOnce(context)).toMatch(/^at-/);
      const moved = ctx({ oauth: { send_resource_parameter: false } }, `${stub.origin}/other`);
      expect(await kit.service.getAccessToken(moved)).toBeNull();
    });

    it('true or unset: the resource goes on all three requests', async () => {
      for (const extra of [{ oauth: { send_resource_parameter: true } }, {}]) {
        stub.requests.length = 0;
        await kit.service.deleteTokens('alice', 'srv');
        const context = ctx(extra);
        const url = await authorize(context);
        await refreshOnce(context);
        expect(url.searchParams.get('resource')).toBe(`${stub.origin}/mcp`);
        expect(tokenForms('authorization_code')[0]?.get('resource')).toBe(`${stub.origin}/mcp`);
        expect(tokenForms('refresh_token')[0]?.get('resource')).toBe(`${stub.origin}/mcp`);
      }
    });
  });

  describe('oauth.audience and oauth.forward_audience_on_refresh', () => {
    const API = 'https://api.example.test/';

    it('audience goes on the authorization request and the refresh, not on the code exchange', async () => {
      const context = ctx({ oauth: { audience: API } });
      const url = await authorize(context);
      expect(await refreshOnce(context)).toMatch(/^at-/);
      expect(url.searchParams.get('audience')).toBe(API);
      expect(url.searchParams.get('resource')).toBe(`${stub.origin}/mcp`);
      expect(tokenForms('authorization_code')[0]?.has('audience')).toBe(false);
      const refresh = tokenForms('refresh_token')[0];
      expect(refresh?.get('audience')).toBe(API);
      expect(refresh?.get('resource')).toBe(`${stub.origin}/mcp`);
    });

    it('forward_audience_on_refresh: false keeps it off the refresh only', async () => {
      const context = ctx({ oauth: { audience: API, forward_audience_on_refresh: false } });
      const url = await authorize(context);
      expect(await refreshOnce(context)).toMatch(/^at-/);
      expect(url.searchParams.get('audience')).toBe(API);
      expect(tokenForms('refresh_token')[0]?.has('audience')).toBe(false);
    });

    it('without audience nothing is sent, whatever forward_audience_on_refresh says', async () => {
      const context = ctx({ oauth: { forward_audience_on_refresh: true } });
      const url = await authorize(context);
      await refreshOnce(context);
      expect(url.searchParams.has('audience')).toBe(false);
      expect(tokenForms('refresh_token')[0]?.has('audience')).toBe(false);
      expect(tokenForms('refresh_token')).toHaveLength(1);
    });
  });
});
