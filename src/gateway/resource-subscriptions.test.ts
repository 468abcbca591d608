import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverything, type RunningEverything } from '../../test/peers/everything.js';
import { ConnectionPool, type FetchLike, type UpstreamSpec } from '../connections/index.js';
import { createLogger } from '../observability/index.js';
import { ResourceSubscriptions, type ResourceSubscriber } from './resource-subscriptions.js';

const KEY = 'relay|app|everything';
const OPTIONS = { initTimeoutMs: 10_000, requestTimeoutMs: 10_000, idleTimeoutMs: 0 };

/** A session's side: what it was told, as `<server> <uri>`. */
function subscriber(): ResourceSubscriber & { heard: string[] } {
  const heard: string[] = [];
  return { heard, updated: (serverName, uri) => heard.push(`${serverName} ${uri}`) };
}

/**
 * The counts behind shared upstream subscriptions, against server-everything over streamable HTTP
 * through a real pool; the pool's fetch records the JSON-RPC methods the upstream was sent.
 */
describe('ResourceSubscriptions', () => {
  let everything: RunningEverything;
  let pool: ConnectionPool;
  let subscriptions: ResourceSubscriptions;
  let spec: UpstreamSpec;
  const sent: Array<{ method: string; uri?: string }> = [];
  const fetchRecording: FetchLike = (url, init) => {
    if (typeof init?.body === 'string') {
      // A JSON-RPC message the SDK client serialised; only requests with a method are kept.
      const message = JSON.parse(init.body) as { method?: string; params?: { uri?: string } };
      if (message.method !== undefined) {
        sent.push({
          method: message.method,
          ...(message.params?.uri === undefined ? {} : { uri: message.params.uri }),
        });
      }
    }
    return fetch(url, init);
  };
  const sentOf = (method: string, uri: string) =>
    sent.filter((m) => m.method === method && m.uri === uri).length;
  const acquire = () => pool.acquire(KEY, 'f1', spec, OPTIONS);
  const target = async (uri: string) => ({ key: KEY, connection: await acquire(), uri });
  const toggleUpdates = async () =>
    (await acquire()).callTool('toggle-subscriber-updates', {}).then(() => undefined);

  beforeAll(async () => {
    everything = await startEverything('streamableHttp');
    spec = { transport: 'streamable-http', url: everything.url, headers: {} };
    pool = new ConnectionPool({
      logger: createLogger({ level: 'silent' }),
      hostEnv: {},
      fetch: fetchRecording,
    });
    subscriptions = new ResourceSubscriptions(pool);
  }, 30_000);

  afterAll(async () => {
    subscriptions?.close();
    await pool?.close();
    await everything?.stop();
  });

  it('subscribes upstream once for two sessions, and unsubscribes when the last leaves', async () => {
    const uri = 'demo://resource/dynamic/text/31';
    const [a, b] = [subscriber(), subscriber()];
    await subscriptions.subscribe(await target(uri), `mine:${uri}`, a);
    await subscriptions.subscribe(await target(uri), uri, b);
    expect(sentOf('resources/subscribe', uri)).toBe(1);
    expect(subscriptions.counts()).toEqual({ upstream: 1, downstream: 2 });

    await toggleUpdates(); // on: one update at once per subscribed URI
    await expect.poll(() => a.heard).toEqual(expect.arrayContaining([`everything ${uri}`]));
    await expect.poll(() => b.heard).toEqual(expect.arrayContaining([`everything ${uri}`]));
    await toggleUpdates(); // off

    subscriptions.unsubscribe(a, `mine:${uri}`);
    subscriptions.unsubscribe(a, `mine:${uri}`); // twice: nothing more happens
    expect(subscriptions.counts()).toEqual({ upstream: 1, downstream: 1 });
    subscriptions.unsubscribe(b, uri);
    expect(subscriptions.counts()).toEqual({ upstream: 0, downstream: 0 });
    await expect.poll(() => sentOf('resources/unsubscribe', uri)).toBe(1);
  });

  it('a closing session ends its subscriptions; the other session’s stay', async () => {
    const [kept, gone] = ['demo://resource/dynamic/text/32', 'demo://resource/dynamic/text/33'];
    const [a, b] = [subscriber(), subscriber()];
    await subscriptions.subscribe(await target(kept), kept, a);
    await subscriptions.subscribe(await target(gone), gone, a);
    await subscriptions.subscribe(await target(kept), kept, b);
    subscriptions.dropSubscriber(a);
    expect(subscriptions.counts()).toEqual({ upstream: 1, downstream: 1 });
    await expect.poll(() => sentOf('resources/unsubscribe', gone)).toBe(1);
    expect(sentOf('resources/unsubscribe', kept)).toBe(0);
    subscriptions.dropSubscriber(b);
    await expect.poll(() => sentOf('resources/unsubscribe', kept)).toBe(1);
  });

  it('a refused subscription leaves nothing behind', async () => {
    const a = subscriber();
    const closed = await acquire();
    await pool.disconnect(KEY);
    await expect(
      subscriptions.subscribe({ key: KEY, connection: closed, uri: 'demo://x' }, 'demo://x', a),
    ).rejects.toThrow();
    expect(subscriptions.counts()).toEqual({ upstream: 0, downstream: 0 });
  });

  it('a key that connects anew is subscribed again on its new connection, and keeps its updates', async () => {
    const uri = 'demo://resource/dynamic/text/34';
    const a = subscriber();
    await subscriptions.subscribe(await target(uri), uri, a);
    expect(sentOf('resources/subscribe', uri)).toBe(1);
    await pool.disconnect(KEY); // a reinitialize, or a changed config
    await acquire();
    await expect.poll(() => sentOf('resources/subscribe', uri)).toBe(2);
    await toggleUpdates(); // on, on the new upstream session
    await expect.poll(() => a.heard).toContain(`everything ${uri}`);
    await toggleUpdates(); // off
    subscriptions.dropSubscriber(a);
  });
});
