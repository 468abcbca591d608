import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../core/index.js';
import type { OAuthServerRecord, OAuthServerRepository } from '../store/index.js';

/** How often at most the expired records are deleted (lazily, on a write). */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Deletes expired records now and then, shared by every model's adapter of one provider. */
export class ExpirySweeper {
  readonly #repo: OAuthServerRepository;
  readonly #clock: Clock;
  #lastSweepAt = Number.NEGATIVE_INFINITY;

  constructor(repo: OAuthServerRepository, clock: Clock) {
    this.#repo = repo;
    this.#clock = clock;
  }

  /** Sweeps when the last sweep is older than the interval; every instance does so on its own. */
  async maybeSweep(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#lastSweepAt < SWEEP_INTERVAL_MS) return;
    this.#lastSweepAt = now;
    await this.#repo.sweepExpired();
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * oidc-provider's storage for one model over `oauth_server_records`, so every instance of the hub
 * sees the same grants, codes, tokens, interactions and registered clients. Expired rows are
 * never returned (the repository filters them) and are deleted by the sweeper.
 */
export class SqlAdapter implements Adapter {
  readonly #model: string;
  readonly #repo: OAuthServerRepository;
  readonly #clock: Clock;
  readonly #sweeper: ExpirySweeper;

  constructor(model: string, repo: OAuthServerRepository, clock: Clock, sweeper: ExpirySweeper) {
    this.#model = model;
    this.#repo = repo;
    this.#clock = clock;
    this.#sweeper = sweeper;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.#sweeper.maybeSweep();
    await this.#repo.upsert({
      model: this.#model,
      id,
      // The payload is the library's JSON-safe record; the store keeps it as JSON text.
      payload: { ...payload },
      // A grant's own row carries its id too, so revoking everything of a grant deletes the grant as well.
      grantId: text(payload.grantId) ?? (this.#model === 'Grant' ? id : null),
      userCode: text(payload.userCode),
      uid: text(payload.uid),
      accountId: text(payload.accountId),
      clientId: text(payload.clientId) ?? text(payload.client_id),
      expiresAt: expiresIn === undefined ? null : this.#clock.now() + expiresIn * 1000,
    });
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.#repo.find(this.#model, id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.#repo.findByUid(this.#model, uid));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return toPayload(await this.#repo.findByUserCode(this.#model, userCode));
  }

  async consume(id: string): Promise<void> {
    await this.#repo.consume(this.#model, id);
  }

  async destroy(id: string): Promise<void> {
    await this.#repo.destroy(this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Only this model's records: revoking an access token revokes its grant's tokens model by
    // model, and keeps the grant (the user's approval) unless the library destroys it too.
    await this.#repo.revokeByGrantId(grantId, this.#model);
  }
}

function toPayload(record: OAuthServerRecord | null): AdapterPayload | undefined {
  if (record === null) return undefined;
  // oidc-provider reads `consumed` to refuse a second use of a code or a rotated refresh token.
  const payload: AdapterPayload = { ...record.payload };
  if (record.consumedAt !== null) payload.consumed = Math.floor(record.consumedAt / 1000);
  return payload;
}
