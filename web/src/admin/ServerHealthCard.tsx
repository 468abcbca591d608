import { useQueryClient } from '@tanstack/react-query';
import { useSession } from '../session.ts';
import {
  ADMIN_KEY,
  formatTime,
  revokeShared,
  type ServerHealth,
  type SharedAuthorization,
} from './admin-api.ts';
import { ConfirmDialog } from './ConfirmDialog.tsx';

const SHARED_STATE: Record<SharedAuthorization['state'], { label: string; tone: string }> = {
  authorized: { label: 'Authorized', tone: 'state-connected' },
  expiring: { label: 'Authorized, renews on next use', tone: 'state-connected' },
  needs_auth: { label: 'Needs authorizing again', tone: 'state-error' },
  none: { label: 'Not authorized', tone: 'state-disconnected' },
};

/** The overall state of a server on this instance, for its badge. */
function overall(server: ServerHealth): { label: string; tone: string } {
  const { connected, connecting, error } = server.connections;
  if (connected > 0) return { label: 'Connected', tone: 'state-connected' };
  if (connecting > 0) return { label: 'Connecting', tone: 'state-connecting' };
  if (error > 0) return { label: 'Failing', tone: 'state-error' };
  return { label: 'Not connected', tone: 'state-disconnected' };
}

/** One server's health: where it comes from, its connections, its last failure, its shared authorization. */
export function ServerHealthCard({ server }: { server: ServerHealth }) {
  const { csrfToken } = useSession();
  const queryClient = useQueryClient();
  const state = overall(server);
  const headingId = `ad-server-${server.name}`;
  const { connected, connecting, error, usersConnected } = server.connections;
  const shared = server.sharedAuthorization;

  return (
    <li className="card ad-server" aria-labelledby={headingId}>
      <div className="ad-server-head">
        <h3 id={headingId} className="ad-server-name">
          {server.name}
        </h3>
        <span className={`state ${state.tone}`}>{state.label}</span>
      </div>
      <p className="muted">
        {server.source === 'yaml'
          ? 'Configuration file'
          : `Added by ${server.owner?.email ?? server.owner?.id ?? 'a user'}`}
        {' · '}
        {server.type} ·{' '}
        {server.scope === 'app' ? 'one connection shared by everyone' : 'one connection per user'}
        {server.requiresOAuth ? ' · needs authorization' : ''}
      </p>
      <dl className="ad-counts">
        <div>
          <dt>Connected</dt>
          <dd>{connected}</dd>
        </div>
        <div>
          <dt>Connecting</dt>
          <dd>{connecting}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd>{error}</dd>
        </div>
        {server.scope === 'user' && (
          <div>
            <dt>Users connected</dt>
            <dd>{usersConnected}</dd>
          </div>
        )}
      </dl>
      {server.lastFailure && (
        <p className="ad-failure">
          <strong>Last error:</strong> {server.lastFailure.message}
          <span className="muted ad-block">
            {formatTime(server.lastFailure.at)} · {server.lastFailure.count}{' '}
            {server.lastFailure.count === 1 ? 'failure' : 'failures'} since this instance started
          </span>
        </p>
      )}
      {shared && (
        <div className="ad-shared">
          <p className="ad-shared-state">
            <strong>Shared authorization:</strong>{' '}
            <span className={`state ${SHARED_STATE[shared.state].tone}`}>
              {SHARED_STATE[shared.state].label}
            </span>
          </p>
          {(shared.expiresAt !== null || shared.scope !== null) && (
            <p className="muted">
              {shared.expiresAt !== null && <>Expires {formatTime(shared.expiresAt)}</>}
              {shared.expiresAt !== null && shared.scope !== null && ' · '}
              {shared.scope !== null && shared.scope !== '' && <>Scope: {shared.scope}</>}
            </p>
          )}
          {(shared.state === 'none' || shared.state === 'needs_auth') && (
            <p className="muted">
              An administrator authorizes it for everyone by connecting it on the Servers screen.
            </p>
          )}
          {shared.state !== 'none' && (
            <ConfirmDialog
              trigger="Revoke"
              triggerLabel={`Revoke the shared authorization of ${server.name}`}
              title={`Revoke the shared authorization of ${server.name}?`}
              description={
                <p>
                  Everyone’s connection to {server.name} closes, and the tokens are revoked at the
                  authorization server and deleted from the hub. An administrator must authorize again before
                  anyone can use it.
                </p>
              }
              confirm="Revoke"
              pending="Revoking…"
              onConfirm={async () => {
                await revokeShared(server.name, csrfToken);
                await queryClient.invalidateQueries({ queryKey: [...ADMIN_KEY, 'health'] });
              }}
            />
          )}
        </div>
      )}
    </li>
  );
}
