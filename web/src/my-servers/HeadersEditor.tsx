import { FieldErrors, fieldId } from './Field.tsx';
import { newHeaderRow, type HeaderRow } from './form-state.ts';

interface HeadersEditorProps {
  rows: HeaderRow[];
  onChange: (rows: HeaderRow[]) => void;
  /** The hub's messages by `header:<name>`, and `headers` for the list as a whole. */
  issues: Map<string, string[]>;
}

/**
 * HTTP headers sent with every request to the server, as name/value rows. The hub keeps every value
 * secret: a saved value is never shown again, and leaving it empty keeps it.
 */
export function HeadersEditor({ rows, onChange, issues }: HeadersEditorProps) {
  const update = (key: number, change: Partial<HeaderRow>) =>
    onChange(rows.map((row) => (row.key === key ? { ...row, ...change } : row)));
  const listErrors = issues.get('headers');

  return (
    <fieldset className="ms-fieldset" aria-describedby={listErrors ? 'ms-headers-errors' : 'ms-headers-hint'}>
      <legend>Headers</legend>
      <p className="ms-hint muted" id="ms-headers-hint">
        Sent with every request, e.g. an API key. Values are kept secret: once saved they are not shown again,
        and an empty value keeps the saved one.
      </p>
      <FieldErrors id="ms-headers-errors" messages={listErrors} />
      {rows.length > 0 && (
        <ol className="ms-header-rows">
          {rows.map((row, index) => {
            const number = index + 1;
            const errors = issues.get(`header:${row.name.trim()}`);
            const errorsId = `${fieldId(`header-${row.key}`)}-errors`;
            const describe = errors ? errorsId : undefined;
            return (
              <li key={row.key} className="ms-header-row">
                <label className="ms-inline">
                  <span>Header {number} name</span>
                  <input
                    value={row.name}
                    autoComplete="off"
                    spellCheck={false}
                    aria-invalid={errors ? true : undefined}
                    aria-describedby={describe}
                    onChange={(event) => update(row.key, { name: event.target.value })}
                  />
                </label>
                <label className="ms-inline">
                  <span>Header {number} value</span>
                  <input
                    type="password"
                    value={row.value}
                    autoComplete="new-password"
                    spellCheck={false}
                    placeholder={row.stored ? 'Saved value kept' : ''}
                    aria-invalid={errors ? true : undefined}
                    aria-describedby={describe}
                    onChange={(event) => update(row.key, { value: event.target.value })}
                  />
                </label>
                <button
                  type="button"
                  className="secondary ms-remove"
                  onClick={() => onChange(rows.filter((other) => other.key !== row.key))}
                >
                  Remove header {number}
                </button>
                <FieldErrors id={errorsId} messages={errors} />
              </li>
            );
          })}
        </ol>
      )}
      <button type="button" className="secondary" onClick={() => onChange([...rows, newHeaderRow()])}>
        Add a header
      </button>
    </fieldset>
  );
}
