import type { FetchLike } from '../connections/index.js';
import type { TokenRefresher } from './refresh.js';
import type { OAuthServerContext } from './types.js';

function withBearer(init: RequestInit | undefined, token: string | null): RequestInit | undefined {
  if (token === null) return init;
  const headers = new Headers(init?.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return { ...init, headers };
}

/** The origin of a URL, or null when it does not parse (then no token goes with it). */
function originOf(url: string | URL): string | null {
  if (url instanceof URL) return url.origin;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/** A body that can be sent twice: absent, text, bytes or form data, but not a one-shot stream. */
function replayable(body: RequestInit['body']): boolean {
  return body === undefined || body === null || !(body instanceof ReadableStream);
}

/**
 * The per-connection fetch of an OAuth server (`ConnectionOptions.wrapFetch`): the current access
 * token on every request (refreshed ahead of expiry), and on a 401 one refresh and one retry
 * (FT-08). A second 401, or no token at all, is returned as it came, so the connection layer sees
 * the upstream's answer (and its `WWW-Authenticate` challenge). Only tokens issued for this
 * destination and resource are attached (the token store checks), and only to requests on the
 * server URL's origin.
 */
export function createAuthorizedFetch(
  refresher: TokenRefresher,
  base: FetchLike,
  ctx: OAuthServerContext,
): FetchLike {
  // Parsed once per connection, not on every request.
  const serverOrigin = originOf(ctx.serverUrl);
  return async (url, init) => {
    // A request elsewhere (an SSE endpoint on another origin, say) never carries the token.
    const origin = originOf(url);
    if (origin === null || origin !== serverOrigin) return base(url, init);
    const token = await refresher.getAccessToken(ctx);
    const first = await base(url, withBearer(init, token));
    if (first.status !== 401 || token === null || !replayable(init?.body)) return first;
    let next: string | null;
    try {
      next = await refresher.refreshAfterUnauthorized({ ...ctx, rejectedToken: token });
    } catch (error) {
      await first.body?.cancel();
      throw error;
    }
    if (next === null || next === token) return first;
    await first.body?.cancel();
    return base(url, withBearer(init, next));
  };
}
