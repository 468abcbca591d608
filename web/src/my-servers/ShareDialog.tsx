import * as Dialog from '@radix-ui/react-dialog';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import {
  displayName,
  putPermissions,
  type Permissions,
  type PermissionsInput,
  type Principal,
  type ServerView,
  type ShareRole,
} from './my-servers-api.ts';
import { principalName } from './labels.ts';
import { PeoplePicker } from './PeoplePicker.tsx';
import { usePermissions, useRefreshAfterChange } from './queries.ts';

interface ShareDialogProps {
  server: ServerView;
  /** The role permission SHARE: grants to people and groups. */
  mayShareWithPeople: boolean;
  /** The role permission SHARE_PUBLIC: the grant to everyone. */
  mayShareWithEveryone: boolean;
}

/** The Share button and its dialog: who may use the server, and how far. */
export function ShareDialog(props: ShareDialogProps) {
  const [open, setOpen] = useState(false);
  const permissions = usePermissions(props.server, true);
  const title = displayName(props.server);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger asChild>
        <button type="button" className="secondary">
          Share<span className="ms-sr"> {title}</span>
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="ms-overlay" />
        <Dialog.Content className="ms-dialog ms-share" aria-describedby="ms-share-description">
          <Dialog.Title>Share {title}</Dialog.Title>
          <Dialog.Description id="ms-share-description">
            People you share with see the server on their Servers screen and connect with their own sign-in.
          </Dialog.Description>
          {permissions.isPending && <p aria-busy="true">Loading who it is shared with…</p>}
          {permissions.isError && (
            <p role="alert" className="alert">
              {messageOf(permissions.error)}
            </p>
          )}
          {permissions.data !== undefined && (
            <ShareEditor {...props} permissions={permissions.data} onDone={() => setOpen(false)} />
          )}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

const ROLE_OPTIONS: { role: ShareRole; label: string }[] = [
  { role: 'viewer', label: 'Can use' },
  { role: 'editor', label: 'Can use and edit' },
  { role: 'owner', label: 'Full control (edit, delete, share)' },
];

type PublicChoice = Permissions['public'];

/** The same person or group: users by address (else id), groups by id. */
function samePrincipal(
  a: Pick<Principal, 'type' | 'id' | 'email'>,
  b: Pick<Principal, 'type' | 'id' | 'email'>,
) {
  if (a.type !== b.type) return false;
  if (a.type === 'user' && a.email !== undefined && b.email !== undefined) {
    return a.email.toLowerCase() === b.email.toLowerCase();
  }
  return a.id !== undefined && a.id === b.id;
}

function ShareEditor({
  server,
  permissions,
  mayShareWithPeople,
  mayShareWithEveryone,
  onDone,
}: ShareDialogProps & { permissions: Permissions; onDone: () => void }) {
  const { csrfToken } = useSession();
  const refresh = useRefreshAfterChange();
  const owner = permissions.owner;
  const [grants, setGrants] = useState<Principal[]>(() =>
    permissions.principals.filter((p) => !(p.type === 'user' && p.id === owner.id)),
  );
  const [everyone, setEveryone] = useState<PublicChoice>(permissions.public);
  const save = useMutation({
    mutationFn: () => {
      const input: PermissionsInput = {
        principals: grants.map((p) =>
          p.type === 'user' && p.email !== undefined
            ? { type: 'user', email: p.email, role: p.role }
            : { type: p.type, id: p.id ?? '', role: p.role },
        ),
        ...(mayShareWithEveryone ? { public: everyone } : {}),
      };
      return putPermissions(server.serverName, input, csrfToken);
    },
    onSuccess: async () => {
      await refresh();
      onDone();
    },
  });

  const setRole = (target: Principal, role: ShareRole) =>
    setGrants((current) => current.map((p) => (samePrincipal(p, target) ? { ...p, role } : p)));
  const add = (principal: Principal) =>
    setGrants((current) =>
      current.some((p) => samePrincipal(p, principal)) ? current : [...current, principal],
    );

  return (
    <form
      className="ms-share-form"
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate();
      }}
    >
      <p className="ms-flush">
        Owner: <strong>{owner.email ?? 'an account that is gone'}</strong>
      </p>
      {mayShareWithPeople ? (
        <PeoplePicker onPick={add} />
      ) : (
        <p className="muted">Your role cannot share with people or groups; an administrator can allow it.</p>
      )}
      <h3 className="ms-subheading">People and groups</h3>
      {grants.length === 0 ? (
        <p className="muted">Nobody else yet.</p>
      ) : (
        <ul className="ms-grants">
          {grants.map((grant) => {
            const name = principalName(grant);
            return (
              <li key={`${grant.type}:${grant.email ?? grant.id ?? ''}`} className="ms-grant">
                <span className="ms-grant-name">{name}</span>
                <select
                  aria-label={`What ${name} may do`}
                  value={grant.role}
                  disabled={!mayShareWithPeople}
                  onChange={(event) => setRole(grant, event.target.value as ShareRole)}
                >
                  {ROLE_OPTIONS.map((option) => (
                    <option key={option.role} value={option.role}>
                      {option.label}
                    </option>
                  ))}
                </select>
                {mayShareWithPeople && (
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => setGrants((current) => current.filter((p) => !samePrincipal(p, grant)))}
                  >
                    Remove<span className="ms-sr"> {name}</span>
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <label className="ms-select">
        Everyone on this hub
        <select
          value={everyone ?? 'none'}
          disabled={!mayShareWithEveryone}
          aria-describedby={mayShareWithEveryone ? undefined : 'ms-public-hint'}
          onChange={(event) => {
            const value = event.target.value;
            setEveryone(value === 'viewer' || value === 'editor' ? value : null);
          }}
        >
          <option value="none">Not shared with everyone</option>
          <option value="viewer">Everyone can use it</option>
          <option value="editor">Everyone can use and edit it</option>
        </select>
      </label>
      {!mayShareWithEveryone && (
        <p className="ms-hint muted" id="ms-public-hint">
          Your role cannot share with everyone; an administrator can allow it.
        </p>
      )}
      <div role="alert">{save.isError && <p className="alert">{messageOf(save.error)}</p>}</div>
      <div className="actions ms-dialog-actions">
        <Dialog.Close asChild>
          <button type="button" className="secondary">
            Cancel
          </button>
        </Dialog.Close>
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? 'Saving…' : 'Save sharing'}
        </button>
      </div>
    </form>
  );
}
