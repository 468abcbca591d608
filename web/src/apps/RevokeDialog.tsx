import * as Dialog from '@radix-ui/react-dialog';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { ApiError, messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { APPS_KEY, revokeApp, type ConnectedApp } from './apps-api.ts';

interface RevokeDialogProps {
  app: ConnectedApp;
  /** The name to show: the client's own, or a stand-in when it gave none. */
  name: string;
  /** Called once the hub has revoked it, with a sentence to announce. */
  onRevoked: (announcement: string) => void;
  /**
   * Takes the focus once the dialog has closed after a revoke: the button that opened it goes
   * away with the app, so the focus cannot go back to it.
   */
  focusAfterRevoke: () => void;
}

/** The Revoke button of one app, and the dialog that asks before revoking. */
export function RevokeDialog({ app, name, onRevoked, focusAfterRevoke }: RevokeDialogProps) {
  const { csrfToken } = useSession();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const revoked = useRef(false);
  const revoke = useMutation({
    mutationFn: () => revokeApp(app.clientId, csrfToken),
    onSuccess: async () => {
      revoked.current = true;
      setOpen(false);
      onRevoked(`${name} can no longer use your tools.`);
      await queryClient.invalidateQueries({ queryKey: APPS_KEY });
    },
  });

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        if (revoke.isPending) return;
        // After a failure (say, revoked meanwhile in another tab), the list may be out of date.
        if (!next && revoke.isError) void queryClient.invalidateQueries({ queryKey: APPS_KEY });
        if (next) revoke.reset();
        setOpen(next);
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="secondary apps-danger">
          Revoke<span className="apps-hidden"> {name}</span>
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="apps-overlay" />
        <Dialog.Content
          className="apps-dialog"
          onCloseAutoFocus={(event) => {
            if (!revoked.current) return;
            event.preventDefault();
            focusAfterRevoke();
          }}
        >
          <Dialog.Title>Revoke {name}?</Dialog.Title>
          <Dialog.Description>
            It stops working at once: its tokens end, and it can no longer use your tools through Switchboard.
            To use it again you would approve it again.
          </Dialog.Description>
          {revoke.isError && (
            <div role="alert" className="alert">
              <p>{messageOf(revoke.error)}</p>
              {revoke.error instanceof ApiError && revoke.error.status === 404 && (
                <p>Its access has already ended, perhaps from another tab. Close this to refresh the list.</p>
              )}
            </div>
          )}
          <div className="actions apps-dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="secondary" disabled={revoke.isPending}>
                Cancel
              </button>
            </Dialog.Close>
            <button
              type="button"
              className="apps-danger-solid"
              onClick={() => revoke.mutate()}
              disabled={revoke.isPending}
            >
              {revoke.isPending ? 'Revoking…' : 'Revoke'}
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
