import type { FetchLike } from '../connections/index.js';

/**
 * The fetch every OAuth request of one server goes through: the hub's fetch (the egress guard)
 * plus the server's `oauth_headers` and a per-request time budget (every outbound call is bounded).
 * Headers the SDK set itself (Content-Type, client authentication) win over configured ones.
 */
export function oauthFetch(
  base: FetchLike,
  extraHeaders: Readonly<Record<string, string>> | undefined,
  timeoutMs: number,
): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extraHeaders ?? {})) {
      if (!headers.has(name)) headers.set(name, value);
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    return base(url, { ...init, headers, signal });
  };
}

/** A fetch that remembers the status of the last response it returned. */
export interface ObservedFetch {
  fetch: FetchLike;
  /** Status of the last response; undefined when none arrived (network error, timeout). */
  lastStatus(): number | undefined;
}

/**
 * Lets the token code tell a 5xx (retry) from a 4xx OAuth error (stop) without parsing messages:
 * the SDK folds both into error objects whose text comes from the AS.
 */
export function observeStatus(base: FetchLike): ObservedFetch {
  let status: number | undefined;
  return {
    fetch: async (url, init) => {
      status = undefined;
      const response = await base(url, init);
      status = response.status;
      return response;
    },
    lastStatus: () => status,
  };
}

/** A fetch that keeps the JSON bodies of its successful responses. */
export interface CapturingFetch {
  fetch: FetchLike;
  /** Parsed bodies of 2xx JSON responses, in arrival order. */
  documents(): unknown[];
}

/**
 * The SDK's OpenID discovery schema strips fields it does not know (`revocation_endpoint`,
 * `authorization_response_iss_parameter_supported`), so discovery keeps the raw documents and
 * reads those fields back from the one the SDK accepted.
 */
export function captureJson(base: FetchLike): CapturingFetch {
  const documents: unknown[] = [];
  return {
    fetch: async (url, init) => {
      const response = await base(url, init);
      const type = response.headers.get('content-type') ?? '';
      if (response.ok && type.includes('json')) {
        try {
          documents.push(await response.clone().json());
        } catch {
          // Not JSON after all: the SDK reports that itself.
        }
      }
      return response;
    },
    documents: () => documents,
  };
}
