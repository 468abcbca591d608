import * as Dialog from '@radix-ui/react-dialog';
import { useState, type ReactNode } from 'react';
import { messageOf } from '../api.ts';

/** Props of {@link ConfirmDialog}. */
export interface ConfirmDialogProps {
  /** The button that opens the dialog (its visible words). */
  trigger: ReactNode;
  /** An accessible name for the trigger when its words alone are ambiguous in a list. */
  triggerLabel: string;
  title: string;
  description: ReactNode;
  /** The confirming button's words, and its words while working. */
  confirm: string;
  pending: string;
  /** Does the act; a rejection is shown in the dialog, which stays open. */
  onConfirm: () => Promise<unknown>;
}

/**
 * A Radix dialog that asks before an act that cannot be undone (removing an account, revoking a
 * shared authorization); the hub's refusal is shown inside it. Radix moves focus in and back.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      setOpen(false);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog.Root
      open={open}
      onOpenChange={(next) => {
        setOpen(next);
        if (!next) setError(null);
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="secondary ad-danger" aria-label={props.triggerLabel}>
          {props.trigger}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="ad-overlay" />
        <Dialog.Content className="ad-dialog">
          <Dialog.Title>{props.title}</Dialog.Title>
          <Dialog.Description asChild>
            <div>{props.description}</div>
          </Dialog.Description>
          <div role="alert">{error !== null && <p className="alert">{error}</p>}</div>
          <div className="actions ad-dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="secondary">
                Cancel
              </button>
            </Dialog.Close>
            <button type="button" className="ad-danger-solid" onClick={() => void run()} disabled={busy}>
              {busy ? props.pending : props.confirm}
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
