import { watchUserChanges } from '../accounts/index.js';
import { CredentialFeed } from '../credentials/index.js';
import type { Kv } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import { CATALOG_CHANNEL, parseCatalogChange } from '../servers/index.js';

/**
 * The instance's caches of decrypted credentials (OAuth token sets, user variables). Nothing is kept
 * until every change that ends a credential is heard: the stores' own announcements, a removed or
 * disabled user (all of theirs go), a changed, moved or deleted server (all of its go).
 */
export class CredentialCaches {
  readonly feed: CredentialFeed;
  private offs: Array<() => Promise<void>> = [];
  /** Settles once the caches may fill, or once subscribing failed (they then stay empty). */
  subscribed: Promise<void> = Promise.resolve();

  constructor(
    private readonly kv: Kv,
    private readonly logger: Logger,
  ) {
    this.feed = new CredentialFeed(kv, logger);
  }

  /**
   * Subscribes, then lets the caches fill. Not awaited by the caller: an unreachable Redis must not
   * stop the hub from starting, and until this is done every use reads the store.
   */
  start(): void {
    this.subscribed = this.subscribe().catch((err: unknown) =>
      this.logger.error({ err }, 'cannot hear credential changes: credentials are read on every use'),
    );
  }

  private async subscribe(): Promise<void> {
    this.offs.push(
      await watchUserChanges(this.kv, (change) => {
        if (change.change === 'removed' || change.change === 'disabled') {
          this.feed.forget({ userId: change.userId, serverName: null });
        }
      }),
      await this.kv.subscribe(CATALOG_CHANNEL, (message) => {
        // Unparsable: it could have been any server, so every server's go.
        this.feed.forget({ userId: null, serverName: parseCatalogChange(message)?.serverName ?? null });
      }),
    );
    await this.feed.listen();
  }

  async stop(): Promise<void> {
    await this.feed.stop();
    const offs = this.offs;
    this.offs = [];
    await Promise.all(offs.map((off) => off()));
  }
}
