import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import type { ConnectPhase } from './oauth-popup.ts';
import { disconnect, reinitialize, type ServerStatus } from './servers-api.ts';
import { useRefreshServers, type ServerEntry } from './use-servers.ts';

/** What the last action said: a result for the status region, or an error for the alert region. */
type Outcome = { tone: 'status' | 'alert'; text: string; variablesLink?: boolean } | null;

interface ServerActionsProps {
  server: ServerEntry;
  status: ServerStatus | undefined;
  connect: { phase: ConnectPhase; start: () => Promise<void>; cancel: () => Promise<void> };
  /** Whether to offer the link to the server's own page (not on that page itself). */
  showDetailsLink: boolean;
}

/**
 * Connect (with an OAuth sign-in when needed), reconnect, disconnect and revoke, with what each
 * did in a live region beside the buttons.
 */
export function ServerActions({ server, status, connect, showDetailsLink }: ServerActionsProps) {
  const { csrfToken } = useSession();
  const refresh = useRefreshServers();
  const [outcome, setOutcome] = useState<Outcome>(null);
  const reconnectMutation = useMutation({
    mutationFn: () => reinitialize(server.name, csrfToken),
    onMutate: () => setOutcome(null),
    onSuccess: (answer) => {
      if (answer.oauthUrl !== null) {
        setOutcome({ tone: 'status', text: `${server.title} needs you to sign in again: use Connect.` });
      } else if (answer.failureReason === 'missing_custom_user_vars') {
        setOutcome({ tone: 'alert', text: answer.message, variablesLink: true });
      } else if (!answer.success) {
        setOutcome({ tone: 'alert', text: answer.message });
      } else {
        setOutcome({ tone: 'status', text: `${server.title} reconnected.` });
      }
    },
    onError: (error) => setOutcome({ tone: 'alert', text: messageOf(error) }),
    onSettled: refresh,
  });
  const disconnectMutation = useMutation({
    mutationFn: (revoke: boolean) => disconnect(server.name, csrfToken, revoke),
    onMutate: () => setOutcome(null),
    onSuccess: (_message, revoke) =>
      setOutcome({
        tone: 'status',
        text: revoke
          ? `Signed out of ${server.title}: its tokens were revoked and deleted.`
          : `${server.title} disconnected.`,
      }),
    onError: (error) => setOutcome({ tone: 'alert', text: messageOf(error) }),
    onSettled: refresh,
  });

  const phase = connect.phase;
  const signingIn = phase.kind === 'starting' || phase.kind === 'waiting';
  const busy = reconnectMutation.isPending || disconnectMutation.isPending || signingIn;
  const state = status?.connectionState;
  const needsSignIn = server.requiresOAuth && !server.authenticated;
  const hasVariables = Object.keys(server.customUserVars).length > 0;

  const startConnect = () => {
    setOutcome(null);
    void connect.start();
  };

  return (
    <div className="server-controls">
      <div className="actions">
        {needsSignIn ? (
          // Not disabled while signing in: a focused button that turns disabled drops the keyboard
          // focus, and a click meanwhile only brings the sign-in window forward.
          <button
            type="button"
            onClick={startConnect}
            disabled={reconnectMutation.isPending || disconnectMutation.isPending}
          >
            Connect
          </button>
        ) : (
          <button type="button" onClick={() => reconnectMutation.mutate()} disabled={busy}>
            Reconnect
          </button>
        )}
        <button
          type="button"
          className="secondary"
          onClick={() => disconnectMutation.mutate(false)}
          disabled={busy || state === 'disconnected'}
        >
          Disconnect
        </button>
        {server.requiresOAuth && server.authenticated && (
          <button
            type="button"
            className="secondary"
            onClick={() => disconnectMutation.mutate(true)}
            disabled={busy}
          >
            Revoke
          </button>
        )}
        {phase.kind === 'waiting' && (
          <button type="button" className="secondary" onClick={() => void connect.cancel()}>
            Cancel sign-in
          </button>
        )}
        {showDetailsLink && (
          <Link className="button secondary" to={`/servers/${encodeURIComponent(server.name)}`}>
            {hasVariables ? 'Variables and details' : 'Details'}
            <span className="visually-hidden"> of {server.title}</span>
          </Link>
        )}
      </div>
      <ConnectMessages phase={phase} title={server.title} />
      <div role="status" className="live">
        {outcome?.tone === 'status' && <p className="notice-ok">{outcome.text}</p>}
      </div>
      <div role="alert" className="live">
        {outcome?.tone === 'alert' && (
          <p className="alert">
            {outcome.text}{' '}
            {outcome.variablesLink === true && showDetailsLink && (
              <Link to={`/servers/${encodeURIComponent(server.name)}`}>Set its variables</Link>
            )}
          </p>
        )}
      </div>
    </div>
  );
}

/** The sign-in's progress and outcome, in live regions. */
function ConnectMessages({ phase, title }: { phase: ConnectPhase; title: string }) {
  return (
    <>
      <div role="status" className="live">
        {phase.kind === 'starting' && <p className="muted">Starting the sign-in…</p>}
        {phase.kind === 'waiting' && phase.fallbackUrl === null && (
          <p className="muted">Finish signing in to {title} in the window that opened.</p>
        )}
        {phase.kind === 'waiting' && phase.fallbackUrl !== null && (
          <p className="notice">
            Your browser did not open a sign-in window.{' '}
            <a href={phase.fallbackUrl} target="_blank" rel="noreferrer">
              Open the sign-in page of {title}
            </a>{' '}
            in a new tab; this page notices when you are done.
          </p>
        )}
        {phase.kind === 'connected' && <p className="notice-ok">{phase.message}</p>}
        {phase.kind === 'closed' && (
          <p className="notice">
            The sign-in window was closed before the sign-in finished. Nothing changed.
          </p>
        )}
      </div>
      <div role="alert" className="live">
        {phase.kind === 'failed' && <p className="alert">{phase.message}</p>}
      </div>
    </>
  );
}
