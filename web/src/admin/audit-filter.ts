import type { AuditFilter } from './admin-api.ts';

/** The filter form's fields as typed (all text; times as `datetime-local` values). */
export interface AuditForm {
  action: string;
  actor: string;
  targetType: string;
  target: string;
  from: string;
  to: string;
}

/** An empty form: every event. */
export const EMPTY_FORM: AuditForm = { action: '', actor: '', targetType: '', target: '', from: '', to: '' };

/** The actions the hub records, for the action menu; prefixes end in '.'. */
export const ACTIONS: readonly { value: string; label: string }[] = [
  { value: '', label: 'Any action' },
  { value: 'server.', label: 'Any server change' },
  { value: 'server.create', label: 'Server added (server.create)' },
  { value: 'server.update', label: 'Server changed (server.update)' },
  { value: 'server.delete', label: 'Server deleted (server.delete)' },
  { value: 'server.share', label: 'Sharing changed (server.share)' },
  { value: 'user.', label: 'Any account change' },
  { value: 'user.set_role', label: 'Role changed (user.set_role)' },
  { value: 'user.disable', label: 'Account disabled (user.disable)' },
  { value: 'user.enable', label: 'Account enabled (user.enable)' },
  { value: 'user.set_password', label: 'Password set (user.set_password)' },
  { value: 'user.remove', label: 'Account removed (user.remove)' },
];

/** A `datetime-local` value as epoch ms (the browser's zone); undefined when empty or invalid. */
export function localTimeToMs(value: string): number | undefined {
  if (value === '') return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The API filter from the form. People are named by email or id: `emailToId` turns an email into
 * an account id (null when no account has it), and the field's error names which.
 */
export async function toFilter(
  form: AuditForm,
  emailToId: (email: string) => Promise<string | null>,
): Promise<{ filter: AuditFilter; errors: Record<string, string> }> {
  const errors: Record<string, string> = {};
  const filter: AuditFilter = {};
  if (form.action !== '') filter.action = form.action;
  const actor = form.actor.trim();
  if (actor !== '') {
    const id = actor.includes('@') ? await emailToId(actor) : actor;
    if (id === null) errors.actorId = `No account has the email ${actor}.`;
    else filter.actorId = id;
  }
  let targetType = form.targetType;
  const target = form.target.trim();
  if (target !== '') {
    if (target.includes('@')) {
      const id = await emailToId(target);
      if (id === null) errors.targetId = `No account has the email ${target}.`;
      else {
        filter.targetId = id;
        targetType = 'user';
      }
    } else filter.targetId = target;
  }
  if (targetType !== '') filter.targetType = targetType;
  const since = localTimeToMs(form.from);
  // A minute given as the end includes the whole of that minute.
  const until = localTimeToMs(form.to);
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until + 59_999;
  if (since !== undefined && until !== undefined && since > until) {
    errors.until = 'The end of the time range is before its start.';
  }
  return { filter, errors };
}

/** An event's details for people: `key: value` pairs, lists joined. */
export function describeDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : String(value)}`)
    .join(' · ');
}
