import { afterEach, describe, expect, it } from 'vitest';
import { systemRandom } from '../core/index.js';
import { createMemoryKv, type Kv } from '../kv/index.js';
import { CANCELLED_ERROR, createFlowStore, type StateRecord } from './flow-store.js';

const TTL = 10 * 60_000;

function setup() {
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  const kv = createMemoryKv({ clock });
  const flows = createFlowStore({ kv, clock, random: systemRandom, ttlMs: TTL });
  return { kv, flows, advance: (ms: number) => (now += ms) };
}

function stateRecord(flowId: string, epoch: string, serverName = 'srv'): StateRecord {
  return {
    v: 1,
    flowId,
    userId: 'alice',
    serverName,
    serverUrl: 'https://mcp.example/mcp',
    issuer: 'https://as.example',
    redirectUri: 'https://hub.example/api/mcp/srv/oauth/callback',
    resource: 'https://mcp.example/mcp',
    scope: 'mcp:tools',
    clientRef: 'dcr',
    binding: 'd1.test',
    createdAt: 1,
    epoch,
    as: {
      issuer: 'https://as.example',
      authorizationEndpoint: 'https://as.example/auth',
      tokenEndpoint: 'https://as.example/token',
      responseTypesSupported: ['code'],
      issParameterSupported: true,
      clientIdMetadataDocumentSupported: false,
      issuerMatch: 'exact',
    },
    sealed: 'v1.x.y.z.w',
  };
}

describe('flow store', () => {
  const opened: Kv[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((kv) => kv.close()));
  });
  const make = () => {
    const s = setup();
    opened.push(s.kv);
    return s;
  };

  it('OA-12: concurrent opens of one flow share its epoch; each state is its own record', async () => {
    const { flows } = make();
    const epochs = await Promise.all([1, 2, 3, 4].map(() => flows.open('alice:srv', 'alice', 'srv')));
    expect(new Set(epochs).size).toBe(1);
    const epoch = epochs[0]!;
    await flows.putState('state-one-aaaaaaaaaaaa', stateRecord('alice:srv', epoch));
    await flows.putState('state-two-aaaaaaaaaaaa', stateRecord('alice:srv', epoch));
    await expect(flows.putState('state-one-aaaaaaaaaaaa', stateRecord('alice:srv', epoch))).rejects.toThrow(
      'OAuth state collision',
    );
    expect((await flows.peekState('state-one-aaaaaaaaaaaa'))?.epoch).toBe(epoch);
    expect((await flows.getFlow('alice:srv'))?.status).toBe('PENDING');
  });

  it('LD-02: of 50 concurrent claims exactly one wins; the others see its claim; peek does not consume', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.putState('s', stateRecord('alice:srv', epoch));
    expect(await flows.peekState('s')).not.toBeNull();
    expect(await flows.peekState('s')).not.toBeNull();
    const claims = await Promise.all(Array.from({ length: 50 }, () => flows.claimState('s')));
    expect(claims.filter((c) => c.won)).toHaveLength(1);
    expect(claims.filter((c) => !c.won && c.claim?.phase === 'exchanging')).toHaveLength(49);
    // Claimed is not consumed: the state stays readable until it is dropped.
    expect(await flows.peekState('s')).not.toBeNull();
    await flows.dropState('s');
    expect(await flows.peekState('s')).toBeNull();
  });

  it('FT-05: held tokens ride on the claim; a dropped state cannot be claimed again', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.putState('s', stateRecord('alice:srv', epoch));
    expect(await flows.claimState('s')).toEqual({ won: true });
    await flows.holdTokens('s', 'v1.sealed.tokens');
    expect(await flows.claimState('s')).toEqual({
      won: false,
      claim: { phase: 'exchanged', at: 1_700_000_000_000, tokens: 'v1.sealed.tokens' },
    });
    await flows.dropState('s');
    expect(await flows.peekState('s')).toBeNull();
    expect(await flows.claimState('s')).toEqual({ won: true });
  });

  it('the claim outlives its state: a state never expires into claimable again', async () => {
    const { flows, advance } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.putState('s', stateRecord('alice:srv', epoch));
    advance(5 * 60_000);
    expect((await flows.claimState('s')).won).toBe(true);
    advance(5 * 60_000 + 1);
    expect(await flows.peekState('s')).toBeNull();
    expect((await flows.claimState('s')).won).toBe(false);
  });

  it('OA-07: after the TTL the state and the flow record are gone', async () => {
    const { flows, advance } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.putState('s', stateRecord('alice:srv', epoch));
    advance(11 * 60_000);
    expect(await flows.peekState('s')).toBeNull();
    expect(await flows.getFlow('alice:srv')).toBeNull();
  });

  it('ignores malformed records', async () => {
    const { kv, flows } = make();
    await kv.set('oauth:state:bad', '{"v":2}');
    await kv.set('oauth:state:worse', 'not json');
    await kv.set('oauth:flow:x:y', '[]');
    expect(await flows.peekState('bad')).toBeNull();
    expect(await flows.peekState('worse')).toBeNull();
    await kv.set('oauth:state-claim:odd', '{"phase":"done"}');
    expect(await flows.claimState('odd')).toEqual({ won: false, claim: null });
    expect(await flows.getFlow('x:y')).toBeNull();
  });

  it('reads a state record written before CIMD support as "AS does not support CIMD"', async () => {
    const { kv, flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    const { clientIdMetadataDocumentSupported: _dropped, ...olderAs } = stateRecord('alice:srv', epoch).as;
    await kv.set('oauth:state:older', JSON.stringify({ ...stateRecord('alice:srv', epoch), as: olderAs }));
    expect((await flows.peekState('older'))?.as.clientIdMetadataDocumentSupported).toBe(false);
  });

  it('wakes a waiter at once on completion, and reports the outcome', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    const started = Date.now();
    const waiting = flows.wait('alice:srv', 20_000);
    await new Promise((r) => setTimeout(r, 20));
    await flows.finish('alice:srv', epoch, { status: 'COMPLETED' });
    expect(await waiting).toEqual({ status: 'COMPLETED', error: null });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Already finished: answers without waiting.
    expect(await flows.wait('alice:srv', 20_000)).toEqual({ status: 'COMPLETED', error: null });
  });

  it('times out with PENDING, answers null for no flow, stops on abort', async () => {
    const { flows } = make();
    expect(await flows.wait('nobody:srv', 10)).toBeNull();
    await flows.open('alice:srv', 'alice', 'srv');
    expect(await flows.wait('alice:srv', 30)).toEqual({ status: 'PENDING', error: null });
    const controller = new AbortController();
    const waiting = flows.wait('alice:srv', 20_000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    expect(await waiting).toEqual({ status: 'PENDING', error: null });
  });

  it('cancel ends the flow as FAILED under a new epoch, wakes waiters, and a new open mints a new epoch', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    const waiting = flows.wait('alice:srv', 20_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(await flows.cancel('alice:srv')).toBe(true);
    expect(await waiting).toEqual({ status: 'FAILED', error: CANCELLED_ERROR });
    const cancelled = await flows.getFlow('alice:srv');
    expect(cancelled).toMatchObject({ status: 'FAILED', error: CANCELLED_ERROR });
    // The states of the cancelled attempt carry the old epoch, so a late callback finds nothing to finish.
    expect(cancelled?.epoch).not.toBe(epoch);
    await flows.finish('alice:srv', epoch, { status: 'COMPLETED' });
    expect((await flows.getFlow('alice:srv'))?.status).toBe('FAILED');
    expect(await flows.cancel('alice:srv')).toBe(false);
    expect(await flows.cancel('nobody:srv')).toBe(false);
    const next = await flows.open('alice:srv', 'alice', 'srv');
    expect(next).not.toBe(epoch);
    expect(await flows.getFlow('alice:srv')).toMatchObject({ status: 'PENDING', epoch: next, error: null });
  });

  it('a cancelled flow is remembered for one flow TTL, then forgotten', async () => {
    const { flows, advance } = make();
    await flows.open('alice:srv', 'alice', 'srv');
    await flows.cancel('alice:srv');
    advance(TTL + 1);
    expect(await flows.getFlow('alice:srv')).toBeNull();
  });

  it('a completed flow is not cancelled', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.finish('alice:srv', epoch, { status: 'COMPLETED' });
    expect(await flows.cancel('alice:srv')).toBe(false);
    expect((await flows.getFlow('alice:srv'))?.status).toBe('COMPLETED');
  });

  it('a failure never hides an earlier success; a replaced epoch is not overwritten', async () => {
    const { flows } = make();
    const epoch = await flows.open('alice:srv', 'alice', 'srv');
    await flows.finish('alice:srv', epoch, { status: 'COMPLETED' });
    await flows.finish('alice:srv', epoch, { status: 'FAILED', error: 'access_denied' });
    expect((await flows.getFlow('alice:srv'))?.status).toBe('COMPLETED');
    const next = await flows.open('alice:srv', 'alice', 'srv');
    expect(next).not.toBe(epoch);
    await flows.finish('alice:srv', epoch, { status: 'FAILED', error: 'late' });
    expect(await flows.getFlow('alice:srv')).toMatchObject({ status: 'PENDING', epoch: next, error: null });
  });
});
