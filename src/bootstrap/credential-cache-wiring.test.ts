import { describe, expect, it } from 'vitest';
import { publishUserChange, USER_CHANGES_CHANNEL } from '../accounts/index.js';
import { createMemoryKv, type Kv } from '../kv/index.js';
import { createLogger } from '../observability/index.js';
import { CATALOG_CHANNEL } from '../servers/index.js';
import { CredentialCaches } from './credential-cache-wiring.js';

async function delivered(kv: Kv, channel: string): Promise<{ seen: Promise<void> }> {
  let done!: () => void;
  const seen = new Promise<void>((resolve) => (done = resolve));
  const off = await kv.subscribe(channel, () => done());
  return { seen: seen.finally(() => off()) };
}

describe('credential caches: what else ends a cached credential', () => {
  it('a removed or disabled user keeps nothing cached; a catalog change drops the server', async () => {
    const kv = createMemoryKv({ clock: { now: () => Date.now() } });
    const caches = new CredentialCaches(kv, createLogger({ level: 'silent' }));
    const tokens = caches.feed.cache<string>();
    caches.start();
    await caches.subscribed;
    for (const [u, s] of [
      ['alice', 'a'],
      ['alice', 'b'],
      ['bob', 'a'],
      ['bob', 'b'],
      ['carol', 'b'],
    ] as const) {
      await tokens.get(u, s, async () => `${u}-${s}`);
    }
    expect(tokens.size).toBe(5);

    let heard = await delivered(kv, USER_CHANGES_CHANNEL);
    await publishUserChange(kv, { userId: 'alice', change: 'removed' });
    await heard.seen;
    expect(tokens.size).toBe(3);

    heard = await delivered(kv, USER_CHANGES_CHANNEL);
    await publishUserChange(kv, { userId: 'carol', change: 'disabled' });
    await heard.seen;
    expect(tokens.size).toBe(2);

    heard = await delivered(kv, CATALOG_CHANNEL);
    await kv.publish(CATALOG_CHANNEL, JSON.stringify({ serverName: 'a', users: null }));
    await heard.seen;
    expect(tokens.size).toBe(1);

    await caches.stop();
    expect(tokens.size).toBe(0);
    await kv.close();
  });
});
