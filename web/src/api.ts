/** The hub's public API as the page uses it: same origin, the session cookie, JSON. */

/** The query key of the browser session; signing in or out writes it. */
export const SESSION_KEY = ['session'] as const;

/** A failed call: the hub's stable error code (when it gave one) and its safe message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  /** The parsed error body, for screens that show more of it (validation errors by field). */
  readonly body: unknown;

  constructor(status: number, code: string | null, message: string, body: unknown = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Who is signed in, and the token to send back as `X-CSRF-Token` on calls that change anything. */
export interface Session {
  user: { id: string; email: string; role: 'USER' | 'ADMIN' };
  csrfToken: string;
  method: 'password' | 'sso';
  provider: string | null;
}

/** A single-sign-on provider: its button name and where its flow starts. */
export interface Provider {
  id: string;
  name: string;
  startUrl: string;
}

/** How {@link call} sends a request: the method, a JSON body, and the CSRF token for changes. */
export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  csrfToken?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Calls the API; resolves with the JSON body (or null for 204), rejects with an {@link ApiError}.
 * Each screen keeps its own typed wrappers over this in its folder.
 */
export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.csrfToken !== undefined) headers['x-csrf-token'] = options.csrfToken;
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = null;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const code = isRecord(parsed) && typeof parsed.code === 'string' ? parsed.code : null;
    // `/api/mcp/servers` answers `{message}`, the seed's other routes `{error}` (LibreChat's split).
    const message =
      isRecord(parsed) && typeof parsed.message === 'string'
        ? parsed.message
        : isRecord(parsed) && typeof parsed.error === 'string'
          ? parsed.error
          : `The hub answered ${response.status}.`;
    throw new ApiError(response.status, code, message, parsed);
  }
  // The hub's response schemas are allowlists of these shapes.
  return parsed as T;
}

/** The current session, or null when this browser is signed out. */
export async function getSession(): Promise<Session | null> {
  try {
    return await call<Session>('/api/auth/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/** Signs in with a password; the hub sets the session cookie. */
export function signIn(email: string, password: string): Promise<Session> {
  return call<Session>('/api/auth/session', { method: 'POST', body: { email, password } });
}

/** Signs out (the hub clears the cookie). */
export async function signOut(csrfToken: string): Promise<void> {
  await call<null>('/api/auth/session', { method: 'DELETE', csrfToken });
}

/** The single-sign-on providers the hub offers (none when it has no `auth.sso`). */
export async function getProviders(): Promise<Provider[]> {
  return (await call<{ providers: Provider[] }>('/api/auth/providers')).providers;
}

/** A message for a person: the hub's own (they are written to be shown), or a generic one. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'The hub could not be reached. Check your connection and try again.';
}
