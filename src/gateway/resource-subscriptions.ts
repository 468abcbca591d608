import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectionPool, UpstreamConnection } from '../connections/index.js';
import { parseConnectionKey } from '../upstreams/index.js';

/** One downstream session's side of its resource subscriptions. */
export interface ResourceSubscriber {
  /** Tells the session's client that a resource of `serverName` changed (`upstreamUri` as the server names it). */
  updated(serverName: string, upstreamUri: string): void;
}

/** The upstream side of one subscription: whose connection, and which URI. */
export interface SubscriptionTarget {
  /** The pool key of the caller's `relay` connection, which upstream notifications name; it names the server too. */
  key: string;
  connection: UpstreamConnection;
  /** The resource URI as the upstream names it. */
  uri: string;
}

/** One upstream subscription (key + URI), shared by every session subscribed to it. */
interface Watch {
  readonly key: string;
  readonly uri: string;
  readonly serverName: string;
  /** The connection the upstream subscription was last sent on. */
  connection: UpstreamConnection;
  /** That `resources/subscribe`; `failed` once it rejected. */
  subscribed: Promise<unknown>;
  failed: boolean;
  readonly subscribers: Set<ResourceSubscriber>;
}

/** Subscriptions one session may hold: each costs memory here and work upstream. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 1_000;

type PoolPart = Pick<ConnectionPool, 'hold' | 'onResourcesChanged' | 'onStateChange' | 'peek'>;

/**
 * The resource subscriptions (MCP `resources/subscribe`) of this instance's downstream sessions.
 * Upstream connections are shared (by every session of a user, or by everyone for an app-level
 * server), so one upstream subscription per connection key and URI is counted over the sessions
 * that asked for it: the first subscribes upstream, the last to leave unsubscribes. An upstream
 * `notifications/resources/updated` reaches exactly the sessions subscribed to that URI (or, for a
 * sub-resource the spec lets a server name instead, to a URI it starts with) on that key. While a
 * key has subscriptions its connection is held open; one that reconnects is subscribed again.
 */
export class ResourceSubscriptions {
  /** Pool key → upstream URI → watch. */
  private readonly watches = new Map<string, Map<string, Watch>>();
  /** Pool key → the release of the pool's hold on it. */
  private readonly holds = new Map<string, () => void>();
  /** Session → the URIs it subscribed with (as it named them) → watch. */
  private readonly bySubscriber = new Map<ResourceSubscriber, Map<string, Watch>>();
  /** Pool key + URI → an upstream unsubscribe still under way, which a new subscribe waits for. */
  private readonly leaving = new Map<string, Promise<unknown>>();
  private readonly off: Array<() => void>;

  constructor(private readonly pool: PoolPart) {
    this.off = [
      pool.onResourcesChanged((key, uri) => {
        if (uri !== undefined) this.updated(key, uri);
      }),
      pool.onStateChange((key, state) => {
        if (state === 'connected') this.renew(key);
      }),
    ];
  }

  /**
   * Subscribes the session to `target.uri`, which its client calls `downstreamUri`; resolves once
   * the upstream accepted, rejects with the upstream's error (the session is then not subscribed).
   */
  async subscribe(
    target: SubscriptionTarget,
    downstreamUri: string,
    subscriber: ResourceSubscriber,
  ): Promise<void> {
    const mine = this.bySubscriber.get(subscriber) ?? new Map<string, Watch>();
    const previous = mine.get(downstreamUri);
    if (!previous && mine.size >= MAX_SUBSCRIPTIONS_PER_SESSION)
      throw new McpError(
        ErrorCode.InvalidRequest,
        `At most ${MAX_SUBSCRIPTIONS_PER_SESSION} subscriptions per session`,
      );
    const watch = this.watchFor(target);
    if (previous && previous !== watch) this.unsubscribe(subscriber, downstreamUri);
    watch.subscribers.add(subscriber);
    mine.set(downstreamUri, watch);
    this.bySubscriber.set(subscriber, mine);
    try {
      await watch.subscribed;
    } catch (err) {
      if (this.bySubscriber.get(subscriber)?.get(downstreamUri) === watch)
        this.unsubscribe(subscriber, downstreamUri);
      throw err;
    }
  }

  /** Ends the session's subscription to `downstreamUri`, if it has one; the upstream's ends with the last. */
  unsubscribe(subscriber: ResourceSubscriber, downstreamUri: string): void {
    const mine = this.bySubscriber.get(subscriber);
    const watch = mine?.get(downstreamUri);
    if (!mine || !watch) return;
    mine.delete(downstreamUri);
    if (mine.size === 0) this.bySubscriber.delete(subscriber);
    // A session names each watched resource one way only (exposed URIs map one-to-one to key + URI).
    watch.subscribers.delete(subscriber);
    if (watch.subscribers.size === 0) this.forget(watch);
  }

  /** Ends every subscription of a session (it closed). */
  dropSubscriber(subscriber: ResourceSubscriber): void {
    for (const uri of [...(this.bySubscriber.get(subscriber)?.keys() ?? [])])
      this.unsubscribe(subscriber, uri);
  }

  /** Subscriptions held now, upstream (key + URI) and downstream (session + URI). */
  counts(): { upstream: number; downstream: number } {
    let upstream = 0;
    for (const byUri of this.watches.values()) upstream += byUri.size;
    let downstream = 0;
    for (const mine of this.bySubscriber.values()) downstream += mine.size;
    return { upstream, downstream };
  }

  /** Stops listening to the pool and lets go of every hold (the endpoint is closing). */
  close(): void {
    for (const off of this.off) off();
    for (const release of this.holds.values()) release();
    this.holds.clear();
  }

  /** The watch of the target's key and URI, created (and subscribed upstream) or renewed as needed. */
  private watchFor(target: SubscriptionTarget): Watch {
    let byUri = this.watches.get(target.key);
    if (!byUri) {
      byUri = new Map();
      this.watches.set(target.key, byUri);
      this.holds.set(target.key, this.pool.hold(target.key));
    }
    const existing = byUri.get(target.uri);
    if (existing) {
      if (existing.connection !== target.connection || existing.failed)
        this.send(existing, target.connection);
      return existing;
    }
    const watch: Watch = {
      key: target.key,
      uri: target.uri,
      serverName: parseConnectionKey(target.key)?.serverName ?? '',
      connection: target.connection,
      subscribed: Promise.resolve(),
      failed: false,
      subscribers: new Set(),
    };
    this.send(watch, target.connection);
    byUri.set(target.uri, watch);
    return watch;
  }

  /** Sends the watch's `resources/subscribe` on `connection`, after any unsubscribe of it still under way. */
  private send(watch: Watch, connection: UpstreamConnection): void {
    watch.connection = connection;
    watch.failed = false;
    const before = this.leaving.get(leavingKey(watch)) ?? Promise.resolve();
    const subscribed = before.then(() => connection.forward('resources/subscribe', { uri: watch.uri }));
    watch.subscribed = subscribed;
    subscribed.catch(() => {
      if (watch.subscribed === subscribed) watch.failed = true;
    });
  }

  /** The last session left: unsubscribe upstream (once subscribed there) and let the key go when empty. */
  private forget(watch: Watch): void {
    const byUri = this.watches.get(watch.key);
    if (byUri?.get(watch.uri) !== watch) return;
    byUri.delete(watch.uri);
    if (byUri.size === 0) {
      this.watches.delete(watch.key);
      this.holds.get(watch.key)?.();
      this.holds.delete(watch.key);
    }
    const { connection, uri } = watch;
    const id = leavingKey(watch);
    const gone = watch.subscribed
      .then(() => (connection.closed ? undefined : connection.forward('resources/unsubscribe', { uri })))
      .catch(() => undefined); // failed upstream, or the connection went: nothing left to end
    this.leaving.set(id, gone);
    void gone.then(() => {
      if (this.leaving.get(id) === gone) this.leaving.delete(id);
    });
  }

  /** An upstream update: to the sessions of the URI, or of the URIs it is a sub-resource of. */
  private updated(key: string, uri: string): void {
    const byUri = this.watches.get(key);
    if (!byUri) return;
    const exact = byUri.get(uri);
    const matched = exact ? [exact] : [...byUri.values()].filter((w) => uri.startsWith(w.uri));
    const told = new Set<ResourceSubscriber>();
    for (const watch of matched) {
      for (const subscriber of watch.subscribers) {
        if (told.has(subscriber)) continue;
        told.add(subscriber);
        subscriber.updated(watch.serverName, uri);
      }
    }
  }

  /** The key connected anew (a drop, a reinitialize, a changed config): subscribe its URIs there too. */
  private renew(key: string): void {
    const connection = this.pool.peek(key);
    if (!connection) return;
    for (const watch of this.watches.get(key)?.values() ?? []) {
      if (watch.connection !== connection) this.send(watch, connection);
    }
  }
}

function leavingKey(watch: Pick<Watch, 'key' | 'uri'>): string {
  return JSON.stringify([watch.key, watch.uri]);
}
