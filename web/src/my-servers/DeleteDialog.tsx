import * as Dialog from '@radix-ui/react-dialog';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { deleteServer, displayName, type ServerView } from './my-servers-api.ts';
import { MY_SERVERS_KEY, useRefreshAfterChange } from './queries.ts';

/** The Delete button and its confirmation: deleting takes the server from everyone it is shared with. */
export function DeleteDialog({ server, afterDelete }: { server: ServerView; afterDelete?: string }) {
  const { csrfToken } = useSession();
  const [open, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const refresh = useRefreshAfterChange();
  const navigate = useNavigate();
  const title = displayName(server);
  const remove = useMutation({
    mutationFn: () => deleteServer(server.serverName, csrfToken),
    onSuccess: async () => {
      setOpen(false);
      queryClient.removeQueries({ queryKey: [...MY_SERVERS_KEY, 'server', server.serverName] });
      queryClient.removeQueries({ queryKey: [...MY_SERVERS_KEY, 'permissions', server.serverName] });
      if (afterDelete !== undefined) await navigate(afterDelete);
      await refresh();
    },
  });

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) remove.reset();
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="secondary ms-danger">
          Delete<span className="ms-sr"> {title}</span>
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="ms-overlay" />
        <Dialog.Content className="ms-dialog" aria-describedby="ms-delete-description">
          <Dialog.Title>Delete {title}?</Dialog.Title>
          <Dialog.Description id="ms-delete-description">
            The server is removed for everyone it is shared with, their open connections are closed, and the
            sign-ins and keys saved for it are deleted. This cannot be undone.
          </Dialog.Description>
          <div role="alert">{remove.isError && <p className="alert">{messageOf(remove.error)}</p>}</div>
          <div className="actions ms-dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="secondary">
                Cancel
              </button>
            </Dialog.Close>
            <button
              type="button"
              className="ms-danger-solid"
              onClick={() => remove.mutate()}
              disabled={remove.isPending}
            >
              {remove.isPending ? 'Deleting…' : 'Delete server'}
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
