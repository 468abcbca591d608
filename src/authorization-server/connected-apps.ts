import type Provider from 'oidc-provider';
import type { OAuthServerRepository } from '../store/index.js';

/** One MCP client a user has authorized. */
export interface ConnectedApp {
  clientId: string;
  /** The client's own name, if it gave one (its claim, not the hub's word). */
  clientName: string | null;
  /** The hosts of the client's redirect URIs: where its codes go. */
  redirectHosts: string[];
  /** Resource indicator → granted scopes (space-separated). */
  resources: Record<string, string>;
  /** Epoch milliseconds of the first approval still in force. */
  authorizedAt: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The MCP clients each user authorized, and taking that back. */
export class ConnectedApps {
  readonly #provider: Provider;
  readonly #repo: OAuthServerRepository;

  constructor(provider: Provider, repo: OAuthServerRepository) {
    this.#provider = provider;
    this.#repo = repo;
  }

  /** The clients with a live grant of the user, one entry per client (its grants merged), oldest first. */
  async list(userId: string): Promise<ConnectedApp[]> {
    const byClient = new Map<string, ConnectedApp>();
    for (const grant of await this.#repo.listForAccount('Grant', userId)) {
      if (grant.clientId === null) continue;
      let app = byClient.get(grant.clientId);
      if (app === undefined) {
        app = {
          clientId: grant.clientId,
          clientName: null,
          redirectHosts: [],
          resources: {},
          authorizedAt: grant.createdAt,
        };
        byClient.set(grant.clientId, app);
      }
      if (isRecord(grant.payload.resources)) {
        for (const [indicator, scope] of Object.entries(grant.payload.resources)) {
          if (typeof scope !== 'string') continue;
          const merged = new Set([...(app.resources[indicator]?.split(' ') ?? []), ...scope.split(' ')]);
          app.resources[indicator] = [...merged].filter(Boolean).sort().join(' ');
        }
      }
    }
    const apps = [...byClient.values()];
    for (const app of apps) {
      const client = await this.#findClient(app.clientId);
      if (client === undefined) continue;
      app.clientName = client.clientName ?? null;
      app.redirectHosts = [...new Set((client.redirectUris ?? []).map((uri) => new URL(uri).host))].sort();
    }
    return apps;
  }

  /**
   * Revokes every grant of this user to this client, and with each grant its codes, access and
   * refresh tokens. Other users' grants to the same client stay. False when there was none.
   */
  async revoke(userId: string, clientId: string): Promise<boolean> {
    const grants = await this.#repo.listForAccount('Grant', userId, clientId);
    for (const grant of grants) await this.#repo.revokeByGrantId(grant.id);
    return grants.length > 0;
  }

  /**
   * Forgets every authorization of a user who is being removed (AZ-12): grants, codes, tokens and
   * sessions, all at once. Returns how many records went.
   */
  async forgetUser(userId: string): Promise<number> {
    return this.#repo.deleteForAccount(userId);
  }

  /** The client, or undefined when it is gone or its metadata document cannot be read now. */
  async #findClient(clientId: string) {
    try {
      return await this.#provider.Client.find(clientId);
    } catch {
      return undefined;
    }
  }
}
