import type { KvUnsubscribe } from '../kv/index.js';

/**
 * KV subscriptions made in the background and retried with backoff until they hold: the hub starts
 * (and reports itself not ready) while Redis is down, and hears each channel once it is back.
 */
export class BackgroundSubscriptions {
  private readonly offs: KvUnsubscribe[] = [];
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly failed: (err: unknown, what: string) => void) {}

  /** Subscribes now, and again after each failure (1 s, doubling, at most 30 s apart). */
  add(what: string, subscribe: () => Promise<KvUnsubscribe>, attempt = 0): void {
    subscribe().then(
      async (off) => {
        if (this.closed) await off();
        else this.offs.push(off);
      },
      (err: unknown) => {
        if (this.closed) return;
        this.failed(err, what);
        const retry = setTimeout(
          () => {
            this.retries.delete(retry);
            this.add(what, subscribe, attempt + 1);
          },
          Math.min(30_000, 1_000 * 2 ** attempt),
        );
        retry.unref();
        this.retries.add(retry);
      },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.retries) clearTimeout(retry);
    this.retries.clear();
    await Promise.all(this.offs.splice(0).map((off) => off()));
  }
}
