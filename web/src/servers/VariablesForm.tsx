import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError, messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { clearAuthValues, getAuthValueFlags, putAuthValues, type UserVarField } from './servers-api.ts';
import { KEYS, useRefreshServers, type ServerEntry } from './use-servers.ts';

/** The longest value the hub accepts (it goes into a header or URL upstream). */
const MAX_VALUE_LENGTH = 8192;

/** The hub's validation messages by variable name (`errors[].path` is `body.values.<NAME>`). */
function fieldErrorsOf(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || typeof error.body !== 'object' || error.body === null) return {};
  const errors = (error.body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return {};
  const byField: Record<string, string> = {};
  for (const item of errors as { path?: unknown; message?: unknown }[]) {
    if (typeof item.path !== 'string' || typeof item.message !== 'string') continue;
    const match = /^body\.values\.(.+)$/.exec(item.path);
    if (match?.[1] !== undefined) byField[match[1]] = item.message;
  }
  return byField;
}

/**
 * The caller's own values for the server's custom variables. The hub never sends a value back, so
 * the form shows only whether each is set; typing a value and saving sets it, an empty field keeps
 * what is stored, Clear removes one, Clear all removes every one. Inputs are emptied after each save.
 */
export function VariablesForm({ server }: { server: ServerEntry }) {
  const { csrfToken } = useSession();
  const queryClient = useQueryClient();
  const refresh = useRefreshServers();
  const formId = useId();
  const fields = Object.entries(server.customUserVars);
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [result, setResult] = useState<string | null>(null);
  const flags = useQuery({
    queryKey: KEYS.authValues(server.name),
    queryFn: () => getAuthValueFlags(server.name),
  });

  const saved = (next: Record<string, boolean>, text: string) => {
    queryClient.setQueryData(KEYS.authValues(server.name), next);
    setDrafts({});
    setResult(text);
    void refresh();
  };
  const save = useMutation({
    mutationFn: (values: Record<string, string>) => putAuthValues(server.name, values, csrfToken),
    onMutate: () => setResult(null),
    onSuccess: (next, values) => {
      const cleared = Object.values(values).every((value) => value === '');
      saved(
        next,
        cleared ? 'Variable cleared.' : 'Saved. The values are stored encrypted and never shown again.',
      );
    },
  });
  const clearAll = useMutation({
    mutationFn: () => clearAuthValues(server.name, csrfToken),
    onMutate: () => setResult(null),
    onSuccess: (next) => saved(next, 'All variables cleared.'),
  });

  const fieldErrors = fieldErrorsOf(save.error);
  const failure = save.error ?? clearAll.error;
  const busy = save.isPending || clearAll.isPending;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const values = Object.fromEntries(Object.entries(drafts).filter(([, value]) => value !== ''));
    if (Object.keys(values).length === 0) {
      setResult('Nothing to save: type a value first. Empty fields keep what is stored.');
      return;
    }
    save.mutate(values);
  };

  return (
    <section className="card variables" aria-labelledby={`${formId}-heading`}>
      <h2 id={`${formId}-heading`}>Your variables</h2>
      <p className="muted">
        {server.title} asks each user for these values. They are stored encrypted for you alone and never
        shown again: you can only see whether each is set.
      </p>
      {flags.isError && (
        <p role="alert" className="alert">
          {messageOf(flags.error)}
        </p>
      )}
      <form onSubmit={submit} noValidate>
        {fields.map(([name, field]) => (
          <VariableField
            key={name}
            id={`${formId}-${name}`}
            name={name}
            field={field}
            isSet={flags.data?.[name]}
            value={drafts[name] ?? ''}
            error={fieldErrors[name]}
            disabled={busy}
            onChange={(value) => setDrafts((current) => ({ ...current, [name]: value }))}
            onClear={() => save.mutate({ [name]: '' })}
          />
        ))}
        <div className="actions">
          <button type="submit" disabled={busy}>
            Save
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy || !Object.values(flags.data ?? {}).some(Boolean)}
            onClick={() => clearAll.mutate()}
          >
            Clear all
          </button>
        </div>
      </form>
      <div role="status" className="live">
        {result !== null && <p className="notice-ok">{result}</p>}
      </div>
      <div role="alert" className="live">
        {failure !== null && Object.keys(fieldErrors).length === 0 && (
          <p className="alert">{messageOf(failure)}</p>
        )}
        {Object.keys(fieldErrors).length > 0 && (
          <p className="alert">Some values were refused: see the fields.</p>
        )}
      </div>
    </section>
  );
}

interface VariableFieldProps {
  id: string;
  name: string;
  field: UserVarField;
  isSet: boolean | undefined;
  value: string;
  error: string | undefined;
  disabled: boolean;
  onChange: (value: string) => void;
  onClear: () => void;
}

/** One variable: its title, description, whether it is set, an input for a new value, and Clear. */
function VariableField({
  id,
  name,
  field,
  isSet,
  value,
  error,
  disabled,
  onChange,
  onClear,
}: VariableFieldProps) {
  const described = [
    `${id}-state`,
    field.description !== '' ? `${id}-description` : null,
    error ? `${id}-error` : null,
  ]
    .filter((part) => part !== null)
    .join(' ');
  return (
    <div className="variable" data-variable={name}>
      <div className="variable-head">
        <label htmlFor={id}>{field.title}</label>
        <span
          id={`${id}-state`}
          className={`var-state ${isSet === true ? 'var-set' : 'var-unset'}`}
          data-testid="variable-state"
        >
          {isSet === undefined ? '…' : isSet ? 'Set' : 'Not set'}
        </span>
        {field.sensitive === true && <span className="muted var-kind">Secret</span>}
      </div>
      {field.description !== '' && (
        <p id={`${id}-description`} className="muted">
          {field.description}
        </p>
      )}
      <div className="variable-input">
        <input
          id={id}
          name={name}
          type={field.sensitive === true ? 'password' : 'text'}
          autoComplete={field.sensitive === true ? 'new-password' : 'off'}
          spellCheck={false}
          maxLength={MAX_VALUE_LENGTH}
          value={value}
          placeholder={isSet === true ? 'Type a new value' : ''}
          aria-describedby={described}
          aria-invalid={error !== undefined}
          onChange={(event) => onChange(event.target.value)}
        />
        {isSet === true && (
          <button type="button" className="secondary" disabled={disabled} onClick={onClear}>
            Clear<span className="visually-hidden"> {field.title}</span>
          </button>
        )}
      </div>
      {error !== undefined && (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}
