import type { FetchLike } from '../connections/index.js';
import { challengeFromResponse, type OAuthChallenge } from '../oauth/index.js';

/** Remembered challenges are few per user; the map is simply reset past this many. */
const MAX_CHALLENGES = 10_000;

/**
 * The latest `WWW-Authenticate` challenge each token owner's connection to a server heard (401 or
 * 403), so the next authorization starts from its `resource_metadata` and `scope` (RFC 9728 §5.1,
 * step-up). Each is kept with the destination digest of the config it was heard under: one from
 * before the server moved names the old resource's metadata and must not steer the next one.
 */
export class ChallengeLog {
  private readonly challenges = new Map<string, { challenge: OAuthChallenge; destination: string }>();

  /** `fetch`, noting every challenge its answers carry for `owner` (`<token owner>|<server>`). */
  remembering(fetch: FetchLike, owner: string, destination: string): FetchLike {
    return async (url, init) => {
      const response = await fetch(url, init);
      if ((response.status === 401 || response.status === 403) && response.headers.has('www-authenticate')) {
        if (this.challenges.size >= MAX_CHALLENGES) this.challenges.clear();
        this.challenges.set(owner, { challenge: challengeFromResponse(response), destination });
      }
      return response;
    };
  }

  /** The owner's last challenge, if it was heard under the server's current destination. */
  last(owner: string, destination: string): OAuthChallenge | undefined {
    const heard = this.challenges.get(owner);
    return heard?.destination === destination ? heard.challenge : undefined;
  }
}
