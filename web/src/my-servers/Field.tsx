import type { ReactNode } from 'react';

/** An id safe in HTML and CSS selectors from a field's name (`oauth.token_url` → `ms-oauth-token_url`). */
export function fieldId(name: string): string {
  return `ms-${name.replace(/[^A-Za-z0-9_-]+/g, '-')}`;
}

/** The messages shown under a field; the field points at them with `aria-describedby`. */
export function FieldErrors({ id, messages }: { id: string; messages: readonly string[] | undefined }) {
  if (messages === undefined || messages.length === 0) return null;
  return (
    <ul className="ms-field-errors" id={id}>
      {messages.map((message) => (
        <li key={message}>{message}</li>
      ))}
    </ul>
  );
}

/** The `aria-describedby` of a field: its hint and its errors, those it has. */
export function describedBy(
  id: string,
  hint: boolean,
  errors: readonly string[] | undefined,
  more?: string,
): string | undefined {
  const ids = [
    hint ? `${id}-hint` : null,
    errors !== undefined && errors.length > 0 ? `${id}-errors` : null,
    more ?? null,
  ];
  const joined = ids.filter((part) => part !== null).join(' ');
  return joined === '' ? undefined : joined;
}

interface TextFieldProps {
  /** The field's name in the config (`url`, `oauth.token_url`): its id and where its errors come from. */
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors?: readonly string[] | undefined;
  hint?: ReactNode;
  required?: boolean;
  /** `secret`: a password input that browsers do not offer to remember. */
  kind?: 'text' | 'url' | 'secret' | 'multiline';
  placeholder?: string;
  /** Shown after the field's errors (e.g. what an egress refusal means). */
  children?: ReactNode;
  /** The id of an element among the children that describes the field too. */
  describedByMore?: string | undefined;
}

/** A labelled input with its hint and the hub's messages about it right underneath. */
export function TextField(props: TextFieldProps) {
  const id = fieldId(props.name);
  const invalid = props.errors !== undefined && props.errors.length > 0;
  const common = {
    id,
    value: props.value,
    'aria-invalid': invalid || undefined,
    'aria-describedby': describedBy(id, props.hint !== undefined, props.errors, props.describedByMore),
    'aria-required': props.required === true || undefined,
    ...(props.placeholder !== undefined ? { placeholder: props.placeholder } : {}),
  };
  return (
    <div className={`ms-field${invalid ? ' ms-invalid' : ''}`}>
      <label htmlFor={id}>
        {props.label}
        {props.required === true && <span className="muted"> (required)</span>}
      </label>
      {props.hint !== undefined && (
        <p className="ms-hint muted" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.kind === 'multiline' ? (
        <textarea {...common} rows={3} onChange={(event) => props.onChange(event.target.value)} />
      ) : (
        <input
          {...common}
          type={props.kind === 'secret' ? 'password' : 'text'}
          inputMode={props.kind === 'url' ? 'url' : undefined}
          autoComplete={props.kind === 'secret' ? 'new-password' : 'off'}
          spellCheck={props.kind === 'url' || props.kind === 'secret' ? false : undefined}
          onChange={(event) => props.onChange(event.target.value)}
        />
      )}
      <FieldErrors id={`${id}-errors`} messages={props.errors} />
      {props.children}
    </div>
  );
}
