import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { ACTIONS, EMPTY_FORM, type AuditForm } from './audit-filter.ts';

/** Props of {@link AuditFilters}. */
export interface AuditFiltersProps {
  /** Called with the form as typed; resolves once the filter is applied (or refused). */
  onApply: (form: AuditForm) => Promise<void>;
  /** Messages by API field (`action`, `actorId`, `targetType`, `targetId`, `since`, `until`). */
  errors: Record<string, string>;
  busy: boolean;
}

/** One labelled field with its error beside it, tied by `aria-describedby`. */
function Field(props: {
  label: string;
  hint?: string;
  error: string | undefined;
  children: (ids: { id: string; describedBy: string | undefined }) => ReactNode;
}) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy =
    [props.hint ? hintId : '', props.error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="ad-field">
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, describedBy })}
      {props.hint && (
        <span id={hintId} className="muted ad-hint">
          {props.hint}
        </span>
      )}
      {props.error && (
        <span id={errorId} className="ad-field-error">
          {props.error}
        </span>
      )}
    </div>
  );
}

/** The audit log's filters: action, who acted, on what, and when. */
export function AuditFilters({ onApply, errors, busy }: AuditFiltersProps) {
  const [form, setForm] = useState<AuditForm>(EMPTY_FORM);
  const set = (key: keyof AuditForm) => (event: { target: { value: string } }) =>
    setForm({ ...form, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void onApply(form);
  };
  const clear = () => {
    setForm(EMPTY_FORM);
    void onApply(EMPTY_FORM);
  };

  return (
    <form className="card ad-filters" onSubmit={submit} aria-label="Filter the audit log">
      <Field label="Action" error={errors.action}>
        {({ id, describedBy }) => (
          <select id={id} value={form.action} onChange={set('action')} aria-describedby={describedBy}>
            {ACTIONS.map((action) => (
              <option key={action.value} value={action.value}>
                {action.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Who acted" hint="An email or a user id" error={errors.actorId}>
        {({ id, describedBy }) => (
          <input
            id={id}
            value={form.actor}
            onChange={set('actor')}
            aria-describedby={describedBy}
            autoComplete="off"
          />
        )}
      </Field>
      <Field label="Target kind" error={errors.targetType}>
        {({ id, describedBy }) => (
          <select id={id} value={form.targetType} onChange={set('targetType')} aria-describedby={describedBy}>
            <option value="">Anything</option>
            <option value="mcp_server">A server</option>
            <option value="user">An account</option>
          </select>
        )}
      </Field>
      <Field label="Target" hint="A server name, or an account’s email or id" error={errors.targetId}>
        {({ id, describedBy }) => (
          <input
            id={id}
            value={form.target}
            onChange={set('target')}
            aria-describedby={describedBy}
            autoComplete="off"
          />
        )}
      </Field>
      <Field label="From" error={errors.since}>
        {({ id, describedBy }) => (
          <input
            id={id}
            type="datetime-local"
            value={form.from}
            onChange={set('from')}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <Field label="To" error={errors.until}>
        {({ id, describedBy }) => (
          <input
            id={id}
            type="datetime-local"
            value={form.to}
            onChange={set('to')}
            aria-describedby={describedBy}
          />
        )}
      </Field>
      <div className="actions ad-filter-actions">
        <button type="submit" disabled={busy}>
          Apply filters
        </button>
        <button type="button" className="secondary" onClick={clear} disabled={busy}>
          Clear
        </button>
      </div>
    </form>
  );
}
