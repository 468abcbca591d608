import type { ServerConfig } from '../config/index.js';
import type { FetchLike } from '../connections/index.js';

/**
 * Upper bound of a server's `oauthRefreshWaitTimeout`. LibreChat clamps the key to 30 s; the same
 * bound keeps one `librechat.yaml` meaning the same wait in both.
 */
export const MAX_REFRESH_WAIT_MS = 30_000;

/**
 * How long a caller waits for a token refresh another caller or instance holds: the server's
 * `oauthRefreshWaitTimeout` (ms, clamped to {@link MAX_REFRESH_WAIT_MS}), else the hub's setting.
 */
export function refreshWaitMs(config: ServerConfig, hubDefaultMs: number): number {
  const configured = config.oauthRefreshWaitTimeout;
  return configured === undefined ? hubDefaultMs : Math.min(configured, MAX_REFRESH_WAIT_MS);
}

/**
 * False when the admin turned the RFC 8707 `resource` parameter off (`oauth.send_resource_parameter:
 * false`) for an authorization server that rejects it. The hub still records the resource it meant,
 * so the token binding is unchanged.
 */
export function sendsResource(config: ServerConfig): boolean {
  return config.oauth?.send_resource_parameter !== false;
}

/** `{ resource }` for the SDK's request builders, or nothing when the parameter is turned off. */
export function resourceOption<T>(send: boolean, resource: T): { resource?: T } {
  return send ? { resource } : {};
}

/** The `audience` of the authorization request (`oauth.audience`), sent as configured. */
export function authorizationAudience(config: ServerConfig): string | undefined {
  return config.oauth?.audience;
}

/**
 * The `audience` of a refresh request: the configured one unless `oauth.forward_audience_on_refresh`
 * is false (Auth0 drops the API audience from refreshed tokens without it; strict token endpoints
 * refuse the extra parameter).
 */
export function refreshAudience(config: ServerConfig): string | undefined {
  return config.oauth?.forward_audience_on_refresh === false ? undefined : config.oauth?.audience;
}

/**
 * A fetch that sets extra form parameters on every form-encoded body it sends. The SDK builds the
 * token request body itself and has no hook for parameters other than client authentication.
 */
export function withFormParams(base: FetchLike, extra: Readonly<Record<string, string>>): FetchLike {
  if (Object.keys(extra).length === 0) return base;
  return (url, init) => {
    if (!(init?.body instanceof URLSearchParams)) return base(url, init);
    const body = new URLSearchParams(init.body);
    for (const [name, value] of Object.entries(extra)) body.set(name, value);
    return base(url, { ...init, body });
  };
}
