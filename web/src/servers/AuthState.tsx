import type { ConnectPhase } from './oauth-popup.ts';
import { useNow, useTokenMetadata, type ServerEntry } from './use-servers.ts';

/** Whole minutes left until `expiresAt`, at least 0. */
function minutesLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 60_000));
}

/**
 * An OAuth server's authorization for the caller: needs sign-in, signing in, or authorized (with
 * how long the access token lasts while the hub can tell; it renews it by itself when it can).
 */
export function AuthState({ server, phase }: { server: ServerEntry; phase: ConnectPhase }) {
  const tokens = useTokenMetadata(server.name, server.requiresOAuth && server.authenticated);
  // Renders again every 30 s; the minutes are counted from the time of each render.
  useNow(30_000);
  if (!server.requiresOAuth) return null;
  let text: string;
  let tone: 'ok' | 'warn' | 'bad';
  if (phase.kind === 'starting' || phase.kind === 'waiting') {
    text = 'Signing in…';
    tone = 'warn';
  } else if (!server.authenticated) {
    text = 'Needs sign-in';
    tone = 'bad';
  } else {
    const expiresAt = tokens.data?.expires_at ?? null;
    tone = 'ok';
    if (expiresAt === null) text = 'Authorized';
    else {
      const left = minutesLeft(expiresAt, Date.now());
      text = left === 0 ? 'Authorized, token renews on next use' : `Authorized, expires in ${left} min`;
    }
  }
  return (
    <p className={`auth-state auth-${tone}`} data-testid="auth-state">
      {text}
    </p>
  );
}
