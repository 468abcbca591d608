import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId } from 'react';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { ADMIN_KEY, formatTime, removeUser, updateUser, type Account } from './admin-api.ts';
import { ConfirmDialog } from './ConfirmDialog.tsx';

/** One account: its role (changeable), enabled or disabled, and removal behind a confirmation. */
export function UserRow({ account }: { account: Account }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const roleId = useId();
  const isSelf = account.id === session.user.id;
  const refresh = () => queryClient.invalidateQueries({ queryKey: [...ADMIN_KEY, 'users'] });
  const change = useMutation({
    mutationFn: (update: { role?: Account['role']; disabled?: boolean }) =>
      updateUser(account.id, update, session.csrfToken),
    onSuccess: refresh,
  });

  return (
    <li className="card ad-user">
      <div className="ad-user-head">
        <h3 className="ad-user-email">
          {account.email}
          {isSelf && <span className="muted"> (you)</span>}
        </h3>
        <span className={`state ${account.disabled ? 'state-error' : 'state-connected'}`}>
          {account.disabled ? 'Disabled' : 'Active'}
        </span>
      </div>
      <p className="muted">
        {account.origin === 'external' ? 'Signs in with single sign-on' : 'Local account'} · created{' '}
        {formatTime(account.createdAt)}
      </p>
      <div className="ad-user-controls">
        <div className="ad-field-inline">
          <label htmlFor={roleId}>Role</label>
          <select
            id={roleId}
            value={account.role}
            disabled={change.isPending}
            onChange={(event) => change.mutate({ role: event.target.value as Account['role'] })}
          >
            <option value="USER">User</option>
            <option value="ADMIN">Administrator</option>
          </select>
        </div>
        <div className="actions">
          <button
            type="button"
            className="secondary"
            disabled={change.isPending}
            onClick={() => change.mutate({ disabled: !account.disabled })}
            aria-label={`${account.disabled ? 'Enable' : 'Disable'} ${account.email}`}
          >
            {account.disabled ? 'Enable' : 'Disable'}
          </button>
          <ConfirmDialog
            trigger="Remove"
            triggerLabel={`Remove ${account.email}`}
            title={`Remove ${account.email}?`}
            description={
              <p>
                The account is deleted with its saved keys and sign-ins, what was shared with it and its group
                memberships. The hub refuses while the account still owns servers. This cannot be undone.
              </p>
            }
            confirm="Remove account"
            pending="Removing…"
            onConfirm={async () => {
              await removeUser(account.id, session.csrfToken);
              await refresh();
            }}
          />
        </div>
      </div>
      <div role="alert">{change.isError && <p className="alert">{messageOf(change.error)}</p>}</div>
      <div role="status" className="ad-sr">
        {change.isSuccess
          ? `Saved: ${account.email} is ${account.disabled ? 'disabled' : 'active'}, role ${account.role === 'ADMIN' ? 'Administrator' : 'User'}.`
          : ''}
      </div>
    </li>
  );
}
