import { describe, expect, it } from 'vitest';
import { createMemoryKv } from '../kv/index.js';
import { parseSessionRecord, SessionStore, type SessionRecord } from './session-store.js';

const IDLE = 30 * 60_000;
const TOUCH = 60_000;

function setUp() {
  let now = 1_000_000;
  const clock = { now: () => now };
  const kv = createMemoryKv({ clock });
  const store = new SessionStore(kv, clock, IDLE, TOUCH);
  return { kv, store, advance: (ms: number) => (now += ms) };
}

const record: SessionRecord = {
  userId: 'u1',
  endpoint: null,
  initialize: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
  logLevel: null,
  subscriptions: [],
};

describe('SessionStore', () => {
  it('writes a session’s expiry once a minute at most, however many requests use it', async () => {
    const { store, advance } = setUp();
    await store.save('s1', record);
    const before = store.writes;
    // 1 000 requests over 10 minutes, one every 600 ms.
    for (let i = 0; i < 1_000; i++) {
      expect(await store.touch('s1')).toBe(true);
      advance(600);
    }
    expect(store.writes - before).toBeLessThanOrEqual(10);
    expect(store.writes - before).toBeGreaterThanOrEqual(9);
  });

  it('expires a session unused for the idle time, and keeps one in use', async () => {
    const { store, advance } = setUp();
    await store.save('idle', record);
    await store.save('used', record);
    for (let t = 0; t < IDLE + TOUCH; t += TOUCH / 2) {
      await store.touch('used');
      advance(TOUCH / 2);
    }
    expect(await store.load('idle')).toBeNull();
    expect(await store.load('used')).toEqual(record);
    // The instance's copy was dropped as idle too (GatewaySessions' sweep): nothing writes it back.
    store.forgetLocal('idle');
    expect(await store.touch('idle')).toBe(false);
  });

  it('keeps another instance’s change when it records its own', async () => {
    const { kv, store, advance } = setUp();
    const other = new SessionStore(kv, { now: () => 0 }, IDLE, TOUCH);
    await store.save('s1', record);
    await other.update('s1', (r) => {
      r.subscriptions.push('switchboard://a/x');
    });
    advance(TOUCH);
    await store.update('s1', (r) => {
      r.logLevel = 'debug';
    });
    expect(await store.load('s1')).toMatchObject({ logLevel: 'debug', subscriptions: ['switchboard://a/x'] });
  });

  it('refuses a stored value that is not a record', () => {
    expect(parseSessionRecord('{"userId":1}')).toBeNull();
    expect(parseSessionRecord('not json')).toBeNull();
    expect(parseSessionRecord(JSON.stringify({ ...record, endpoint: { name: 'x' } }))).toBeNull();
    expect(parseSessionRecord(JSON.stringify(record))).toEqual(record);
  });
});

describe('SessionStore when the KV loses or refuses', () => {
  it('writes a record the KV lost back at the next expiry write; an ended session stays ended', async () => {
    const { kv, store, advance } = setUp();
    await store.save('lost', record);
    await store.save('ended', record);
    await kv.delete('mcp-session:lost'); // a Redis restarted empty
    const other = new SessionStore(kv, { now: () => 0 }, IDLE, TOUCH);
    await other.remove('ended'); // DELETE on another instance, whose announcement was missed
    advance(TOUCH);
    expect(await store.touch('lost')).toBe(true);
    expect(await store.load('lost')).toEqual(record);
    expect(await store.touch('ended')).toBe(false);
    expect(await store.load('ended')).toBeNull();
  });

  it('goes on serving while the KV is unreachable', async () => {
    let now = 0;
    const failing = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      delete: () => Promise.reject(new Error('down')),
    };
    const store = new SessionStore(failing, { now: () => now }, IDLE, TOUCH);
    now += TOUCH;
    expect(await store.touch('s1')).toBe(true);
  });
});
