import type { Clock } from '../core/index.js';
import type { Kv } from '../kv/index.js';
import type { ServerRef } from './server-ref.js';

/**
 * What any instance needs to rebuild a downstream MCP session it does not hold: who owns it, which
 * endpoint it was opened on, the client's `initialize` (its protocol version, capabilities and
 * info, negotiated again the same way on replay), and the state the client set since.
 */
export interface SessionRecord {
  userId: string;
  /** `null` for the aggregated endpoint. */
  endpoint: ServerRef | null;
  /** The params of the client's `initialize` request, as it sent them. */
  initialize: Record<string, unknown>;
  /** The last `logging/setLevel` level, or null when the client never set one. */
  logLevel: string | null;
  /** The URIs the client subscribed to (`resources/subscribe`), as it named them. */
  subscriptions: string[];
}

type StoreKv = Pick<Kv, 'get' | 'set' | 'delete'>;

const KEY_PREFIX = 'mcp-session:';
/** What an ended session's key holds until it would have expired: not a record, and not missing. */
const ENDED = '"ended"';

function keyOf(id: string): string {
  return `${KEY_PREFIX}${id}`;
}

function isEndpoint(value: unknown): value is ServerRef | null {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  const ref = value as Record<string, unknown>;
  return (
    typeof ref.name === 'string' &&
    typeof ref.source === 'string' &&
    (ref.ownerId === undefined || typeof ref.ownerId === 'string')
  );
}

/** The record stored under a key, or null when it is not one (a foreign or damaged value). */
export function parseSessionRecord(text: string): SessionRecord | null {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const { userId, endpoint, initialize, logLevel, subscriptions } = value;
    if (typeof userId !== 'string' || !isEndpoint(endpoint)) return null;
    if (typeof initialize !== 'object' || initialize === null) return null;
    if (logLevel !== null && typeof logLevel !== 'string') return null;
    if (!Array.isArray(subscriptions) || !subscriptions.every((s) => typeof s === 'string')) return null;
    return {
      userId,
      endpoint,
      initialize: initialize as Record<string, unknown>, // checked to be an object above
      logLevel,
      subscriptions,
    };
  } catch {
    return null;
  }
}

/**
 * The downstream sessions' records in the KV (memory on one instance, Redis when shared), each
 * with an idle time to live. Uses refresh the expiry at most once per `touchEveryMs` per instance
 * and session, not on every request: {@link touch} says when a write is due.
 */
export class SessionStore {
  /** Session id → when this instance last wrote its expiry. */
  private readonly written = new Map<string, number>();
  /** Session id → its record as this instance last read or wrote it (to write it back if the KV lost it). */
  private readonly known = new Map<string, SessionRecord>();
  /** KV writes made, for the measurement in the tests and the docs. */
  writes = 0;

  constructor(
    private readonly kv: StoreKv,
    private readonly clock: Clock,
    private readonly idleMs: number,
    private readonly touchEveryMs: number,
  ) {}

  async load(id: string): Promise<SessionRecord | null> {
    const text = await this.kv.get(keyOf(id));
    const record = text === null ? null : parseSessionRecord(text);
    if (record) this.known.set(id, record);
    return record;
  }

  async save(id: string, record: SessionRecord): Promise<void> {
    this.writes += 1;
    await this.kv.set(keyOf(id), JSON.stringify(record), { ttlMs: this.idleMs });
    this.written.set(id, this.clock.now());
    this.known.set(id, record);
  }

  /** Changes the stored record (read afresh, so another instance's change is kept); false when it is gone. */
  async update(id: string, change: (record: SessionRecord) => void): Promise<boolean> {
    const record = await this.load(id);
    if (record === null) return false;
    change(record);
    await this.save(id, record);
    return true;
  }

  /**
   * The session was used here: its expiry is written again when this instance last wrote it more
   * than `touchEveryMs` ago. Resolves false when the session ended (on another instance, whose
   * announcement this one missed). A record the KV lost (a Redis restarted empty) is written back
   * as this instance knows it; with the KV unreachable the copy goes on serving.
   */
  async touch(id: string): Promise<boolean> {
    const last = this.written.get(id);
    if (last !== undefined && this.clock.now() - last < this.touchEveryMs) return true;
    this.written.set(id, this.clock.now()); // one write in flight, not one per concurrent request
    try {
      const text = await this.kv.get(keyOf(id));
      if (text === ENDED) return false;
      const record = (text === null ? undefined : parseSessionRecord(text)) ?? this.known.get(id);
      if (!record) return false;
      await this.save(id, record);
    } catch {
      // the KV is unreachable: the next use tries again after touchEveryMs
    }
    return true;
  }

  /** This instance no longer holds the session; the record stays for the others. */
  forgetLocal(id: string): void {
    this.written.delete(id);
    this.known.delete(id);
  }

  /** The session ended: its key says so until it would have expired, so no copy writes it back. */
  async remove(id: string): Promise<void> {
    this.forgetLocal(id);
    await this.kv.set(keyOf(id), ENDED, { ttlMs: this.idleMs });
  }
}
