import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../auth/index.js';
import type { Random } from '../core/index.js';
import { createMemoryKv, type Kv } from '../kv/index.js';
import type { FlowStatusView, OAuthService } from '../oauth/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { createAuthorizationStarter } from './authorization.js';
import type { UpstreamService } from './upstream-service.js';

const PUBLIC_URL = 'https://hub.example/sb';

const person = (userId: string, role: Identity['role'] = 'USER'): Identity => ({
  userId,
  appUserId: userId,
  email: `${userId}@example.com`,
  role,
  permissions: { USE: true, CREATE: false, SHARE: false, SHARE_PUBLIC: false },
});
const alice = person('alice');
const bob = person('bob');
const admin = person('root', 'ADMIN');

// Only what the starter reads of a server: its name and whether its authorization is shared.
const server = (name: string, sharedOAuth = false) =>
  ({ name, source: 'yaml', config: { sharedOAuth } }) as unknown as RegisteredServer;

/** A counter as randomness: each call's bytes differ, and the test can tell which ticket is which. */
function countingRandom(): Random & { calls: number } {
  const random = {
    calls: 0,
    bytes(n: number) {
      random.calls += 1;
      return Buffer.alloc(n, random.calls);
    },
  };
  return random;
}

describe('the authorization starter’s browser links', () => {
  let kv: Kv;
  afterEach(() => kv.close());

  function setup() {
    let now = 1_000_000;
    kv = createMemoryKv({ clock: { now: () => now } });
    const statuses = new Map<string, FlowStatusView>();
    // The parts of the OAuth service and upstreams the starter uses; the rest is never called here.
    const oauth = {
      async initiate(input: { userId: string; serverName: string }) {
        const flowId = `${input.userId}:${input.serverName}`;
        statuses.set(flowId, { status: 'PENDING', error: null });
        return { flowId, authorizationUrl: `https://as.example/authorize?flow=${flowId}`, state: 's' };
      },
      flowStatus: async (flowId: string) => statuses.get(flowId) ?? null,
    } as unknown as OAuthService;
    const upstreams = {
      tokenOwner: (s: RegisteredServer, caller: Identity) =>
        (s.config as { sharedOAuth?: boolean }).sharedOAuth ? 'system' : caller.userId,
      serverUrlFor: async () => 'https://mcp.example/mcp',
      lastChallenge: () => undefined,
    } as unknown as UpstreamService;
    const random = countingRandom();
    const starter = createAuthorizationStarter({ oauth, upstreams, kv, random, publicUrl: PUBLIC_URL });
    return { starter, random, statuses, advance: (ms: number) => (now += ms) };
  }

  const ticketOf = (link: string) => link.slice(`${PUBLIC_URL}/api/mcp/oauth/link/`.length);

  it('mints a 256-bit base64url ticket from the injected randomness, stored only under its SHA-256', async () => {
    const { starter, random } = setup();
    const { flowId } = await starter.start(alice, server('secure'));
    const link = await starter.browserLink(alice, server('secure'), flowId);
    expect(link).toMatch(/^https:\/\/hub\.example\/sb\/api\/mcp\/oauth\/link\/[A-Za-z0-9_-]{43}$/);
    expect(random.calls).toBe(1);
    const ticket = ticketOf(link);
    expect(Buffer.from(ticket, 'base64url')).toEqual(Buffer.alloc(32, 1));
    expect(await kv.get(`oauth:link:${ticket}`)).toBeNull();
    const hashed = createHash('sha256').update(ticket).digest('base64url');
    expect(JSON.parse((await kv.get(`oauth:link:${hashed}`))!)).toEqual({
      flowId: 'alice:secure',
      userId: 'alice',
      serverName: 'secure',
    });
  });

  it('refuses a link to a flow that is not the caller’s pending flow for that server', async () => {
    const { starter } = setup();
    await starter.start(alice, server('secure'));
    // bob asking for a link to alice's flow would let bob's browser finish it.
    await expect(starter.browserLink(bob, server('secure'), 'alice:secure')).rejects.toMatchObject({
      code: 'HUB_ERR_OAUTH_FLOW_NOT_FOUND',
    });
    // No flow started: nothing to link to.
    await expect(starter.browserLink(bob, server('secure'), 'bob:secure')).rejects.toMatchObject({
      code: 'HUB_ERR_OAUTH_FLOW_NOT_FOUND',
    });
    await expect(starter.browserLink(bob, server('team', true), 'system:team')).rejects.toMatchObject({
      code: 'HUB_ERR_FORBIDDEN',
    });
  });

  it('a shared flow’s link names the admin who must sign in, not its `system` owner', async () => {
    const { starter } = setup();
    const { flowId } = await starter.start(admin, server('team', true));
    expect(flowId).toBe('system:team');
    const ticket = ticketOf(await starter.browserLink(admin, server('team', true), flowId));
    expect(await starter.peekBrowserLink(ticket)).toEqual({
      flowId: 'system:team',
      userId: 'root',
      serverName: 'team',
    });
    expect(await starter.redeemBrowserLink(ticket, 'root')).toMatchObject({
      ok: true,
      flowId: 'system:team',
      authorizationUrl: 'https://as.example/authorize?flow=system:team',
    });
  });

  it('redeems once; another user spends it; a finished flow or an expired link is refused', async () => {
    const { starter, statuses, advance } = setup();
    const { flowId } = await starter.start(alice, server('secure'));
    const mint = async () => ticketOf(await starter.browserLink(alice, server('secure'), flowId));

    const once = await mint();
    const results = await Promise.all([1, 2, 3].map(() => starter.redeemBrowserLink(once, 'alice')));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok)).toEqual([
      { ok: false, reason: 'unknown' },
      { ok: false, reason: 'unknown' },
    ]);

    const stolen = await mint();
    expect(await starter.redeemBrowserLink(stolen, 'bob')).toEqual({ ok: false, reason: 'other_user' });
    expect(await starter.peekBrowserLink(stolen)).toBeNull();
    expect(await starter.redeemBrowserLink(stolen, 'alice')).toEqual({ ok: false, reason: 'unknown' });

    const late = await mint();
    statuses.set(flowId, { status: 'COMPLETED', error: null });
    expect(await starter.redeemBrowserLink(late, 'alice')).toEqual({ ok: false, reason: 'flow_gone' });
    statuses.set(flowId, { status: 'PENDING', error: null });

    const expiring = await mint();
    advance(10 * 60_000 + 1);
    expect(await starter.peekBrowserLink(expiring)).toBeNull();
    expect(await starter.redeemBrowserLink(expiring, 'alice')).toEqual({ ok: false, reason: 'unknown' });
  });

  it('treats anything but a minted ticket’s shape as unknown without reading the store', async () => {
    const { starter } = setup();
    for (const ticket of ['', 'short', 'x'.repeat(44), `${'a'.repeat(42)}.`]) {
      expect(await starter.peekBrowserLink(ticket)).toBeNull();
      expect(await starter.redeemBrowserLink(ticket, 'alice')).toEqual({ ok: false, reason: 'unknown' });
    }
  });
});
