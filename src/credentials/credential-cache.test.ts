import { describe, expect, it } from 'vitest';
import { createMemoryKv, type Kv } from '../kv/index.js';
import { createLogger } from '../observability/index.js';
import { CredentialCache } from './credential-cache.js';
import { CREDENTIAL_CHANGES_CHANNEL, CredentialFeed } from './credential-feed.js';

const logger = createLogger({ level: 'silent' });

/** A loader that counts its reads and answers the current value. */
function source(initial: string) {
  const state = { value: initial, reads: 0 };
  return { state, load: async () => ((state.reads += 1), state.value) };
}

/** Resolves once the channel's next message was delivered to everyone subscribed before this. */
async function delivered(kv: Kv, channel: string): Promise<{ seen: Promise<void> }> {
  let done!: () => void;
  const seen = new Promise<void>((resolve) => (done = resolve));
  const off = await kv.subscribe(channel, () => done());
  return { seen: seen.finally(() => off()) };
}

describe('CredentialCache', () => {
  const limits = { maxEntries: 2, ttlMs: 1_000 };
  const silent = async (): Promise<void> => undefined;

  it('keeps nothing until enabled, then reads once per (user, server)', async () => {
    const cache = new CredentialCache<string>(limits, silent);
    const { state, load } = source('t1');
    await cache.get('u', 's', load);
    await cache.get('u', 's', load);
    expect(state.reads).toBe(2);
    cache.setEnabled(true);
    await cache.get('u', 's', load);
    await cache.get('u', 's', load);
    expect(state.reads).toBe(3);
    cache.setEnabled(false);
    expect(cache.size).toBe(0);
  });

  it('never keeps absence: a credential stored elsewhere counts at the next read', async () => {
    const cache = new CredentialCache<string | null>(limits, silent);
    cache.setEnabled(true);
    let stored: string | null = null;
    let reads = 0;
    const load = async () => ((reads += 1), stored);
    expect(await cache.get('u', 's', load)).toBeNull();
    expect(await cache.get('u', 's', load)).toBeNull();
    expect(reads).toBe(2);
    expect(cache.size).toBe(0);
    // Another instance stores it; no announcement has arrived here yet.
    stored = 'token';
    expect(await cache.get('u', 's', load)).toBe('token');
    expect(await cache.get('u', 's', load)).toBe('token');
    expect(reads).toBe(3);
  });

  it('is bounded: least recently used first, and nothing past its TTL', async () => {
    let now = 0;
    const cache = new CredentialCache<string>(limits, silent, { now: () => now });
    cache.setEnabled(true);
    const { state, load } = source('v');
    await cache.get('a', 's', load);
    await cache.get('b', 's', load);
    await cache.get('a', 's', load); // a is now the most recent
    await cache.get('c', 's', load); // b goes
    expect(cache.size).toBe(2);
    await cache.get('a', 's', load);
    expect(state.reads).toBe(3);
    await cache.get('b', 's', load);
    expect(state.reads).toBe(4);
    now = 1_000;
    await cache.get('b', 's', load);
    expect(state.reads).toBe(5);
  });

  it('a load that overlapped an invalidation is answered but not kept', async () => {
    const cache = new CredentialCache<string>(limits, silent);
    cache.setEnabled(true);
    let release!: (v: string) => void;
    const slow = cache.get('u', 's', () => new Promise<string>((resolve) => (release = resolve)));
    cache.forget({ userId: 'u', serverName: 's' });
    release('stale');
    expect(await slow).toBe('stale');
    expect(cache.size).toBe(0);
  });

  it('forgets by user, by server, or everything', async () => {
    const cache = new CredentialCache<string>({ maxEntries: 10, ttlMs: 1_000 }, silent);
    cache.setEnabled(true);
    const { load } = source('v');
    for (const [u, s] of [
      ['u1', 's1'],
      ['u1', 's2'],
      ['u2', 's1'],
      ['u2', 's2'],
    ] as const) {
      await cache.get(u, s, load);
    }
    cache.forget({ userId: 'u1', serverName: null });
    expect(cache.size).toBe(2);
    cache.forget({ userId: null, serverName: 's2' });
    expect(cache.size).toBe(1);
    cache.forget({ userId: null, serverName: null });
    expect(cache.size).toBe(0);
  });
});

describe('CredentialFeed', () => {
  it('a change on one instance is forgotten there at once and on the other when it hears it', async () => {
    const kv = createMemoryKv({ clock: { now: () => Date.now() } });
    const [here, there] = [new CredentialFeed(kv, logger), new CredentialFeed(kv, logger)];
    const [mine, theirs] = [here.cache<string>(), there.cache<string>()];
    await Promise.all([here.listen(), there.listen()]);
    const { state, load } = source('old');
    await mine.get('u', 's', load);
    await theirs.get('u', 's', load);
    expect(state.reads).toBe(2);

    state.value = 'new';
    const heard = await delivered(kv, CREDENTIAL_CHANGES_CHANNEL);
    await mine.changed('u', 's');
    expect(mine.size).toBe(0);
    await heard.seen;
    expect(theirs.size).toBe(0);
    expect(await theirs.get('u', 's', load)).toBe('new');
    await Promise.all([here.stop(), there.stop()]);
    await kv.close();
  });

  it('a message that does not parse drops everything', async () => {
    const kv = createMemoryKv({ clock: { now: () => Date.now() } });
    const feed = new CredentialFeed(kv, logger);
    const cache = feed.cache<string>();
    await feed.listen();
    await cache.get('u', 's', async () => 'v');
    const heard = await delivered(kv, CREDENTIAL_CHANGES_CHANNEL);
    await kv.publish(CREDENTIAL_CHANGES_CHANNEL, 'not json');
    await heard.seen;
    expect(cache.size).toBe(0);
    await feed.stop();
    await kv.close();
  });
});
