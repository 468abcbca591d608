import { FrozenMemo } from '../core/index.js';
import { destinationDigest } from '../credentials/index.js';
import type { Kv, KvUnsubscribe } from '../kv/index.js';
import type { Logger } from '../observability/index.js';
import type { RegisteredServer } from '../registry/index.js';
import { watchServerChanges } from './server-changes.js';

/** The KV channel on which an instance tells the others a server turned out to need OAuth. */
export const LEARNED_OAUTH_CHANNEL = 'oauth:learned';

/** Identities remembered; past this many the set starts again (each is re-learned from a 401). */
const MAX_LEARNED = 10_000;

/**
 * Which server a learned fact is about: where it comes from and who owns it, its name, and where
 * it points. A server recreated under the same name by someone else, or moved, is another server;
 * one deleted and recreated by the same owner at the same address is forgotten by the deletion.
 */
export function serverIdentity(server: RegisteredServer): string {
  // Asked on every call (does this server need OAuth?): a frozen config keeps its identity.
  const who = `${server.source}\u0000${server.ownerId ?? ''}\u0000${server.name}`;
  return identities.get(server.config, who, () =>
    JSON.stringify([server.source, server.ownerId ?? '', server.name, destinationDigest(server.config)]),
  );
}

const identities = new FrozenMemo<string>();

/**
 * Servers that answered 401 though their config did not say OAuth, shared by every instance: what
 * one instance learns it announces, and a deleted or edited server (`servers:connections-changed`,
 * `closed`) is forgotten everywhere. Without a KV only this instance knows.
 */
export class LearnedOAuth {
  private readonly identities = new Set<string>();
  private readonly unsubscribes: KvUnsubscribe[] = [];

  constructor(private readonly deps: { kv?: Pick<Kv, 'publish' | 'subscribe'>; logger?: Logger }) {}

  has(server: RegisteredServer): boolean {
    return this.identities.has(serverIdentity(server));
  }

  /** Remembers the server here, and tells the other instances (at best: each also learns on its own). */
  learn(server: RegisteredServer): void {
    const identity = serverIdentity(server);
    if (this.identities.has(identity)) return;
    this.add(identity);
    this.deps.kv?.publish(LEARNED_OAUTH_CHANNEL, identity).catch((err: unknown) => {
      this.deps.logger?.warn({ err, server: server.name }, 'could not share what was learned about a server');
    });
  }

  /** Forgets everything learned about servers of this name (deleted or edited). */
  forget(serverName: string): void {
    for (const identity of this.identities) {
      if (nameOf(identity) === serverName) this.identities.delete(identity);
    }
  }

  /** Starts hearing the other instances; resolves once both subscriptions are live. */
  async start(): Promise<void> {
    const kv = this.deps.kv;
    if (!kv) return;
    this.unsubscribes.push(
      await kv.subscribe(LEARNED_OAUTH_CHANNEL, (identity) => {
        if (nameOf(identity) !== null) this.add(identity);
      }),
      await watchServerChanges(kv, ({ serverName, change }) => {
        if (change === 'closed' || change === 'replaced') this.forget(serverName);
      }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.unsubscribes.splice(0).map((unsubscribe) => unsubscribe()));
  }

  private add(identity: string): void {
    if (this.identities.size >= MAX_LEARNED) this.identities.clear();
    this.identities.add(identity);
  }
}

/** The server name inside an identity; null for anything that is not one. */
function nameOf(identity: string): string | null {
  try {
    const parts: unknown = JSON.parse(identity);
    return Array.isArray(parts) && parts.length === 4 && typeof parts[2] === 'string' ? parts[2] : null;
  } catch {
    return null;
  }
}
