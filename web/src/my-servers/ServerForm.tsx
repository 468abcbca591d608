import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { messageOf } from '../api.ts';
import { useSession } from '../session.ts';
import { ApiKeyFields, OAuthSettingsFields } from './AuthFields.tsx';
import { FieldErrors, TextField } from './Field.tsx';
import { configOfForm, issuesByTarget, type FormState } from './form-state.ts';
import { HeadersEditor } from './HeadersEditor.tsx';
import { createServer, errorTagOf, fieldIssuesOf, updateServer, type ServerView } from './my-servers-api.ts';

interface ServerFormProps {
  /** Set when editing: the server's name (it never changes, whatever the title becomes). */
  serverName?: string;
  initial: FormState;
  /** After the hub saved it; the form stays busy until a returned promise settles. */
  onSaved: (view: ServerView) => Promise<void> | void;
}

/**
 * The form to add or edit a server from its URL. The hub checks everything and connects once to
 * the server before saving; each of its messages is shown beside the field it is about.
 */
export function ServerForm({ serverName, initial, onSaved }: ServerFormProps) {
  const { csrfToken } = useSession();
  const [form, setForm] = useState<FormState>(initial);
  const formRef = useRef<HTMLFormElement>(null);
  const editing = serverName !== undefined;
  const save = useMutation({
    mutationFn: (state: FormState) =>
      editing
        ? updateServer(serverName, configOfForm(state), csrfToken)
        : createServer(configOfForm(state), csrfToken),
    onSuccess: onSaved,
  });
  const change = (patch: Partial<FormState>) => setForm((current) => ({ ...current, ...patch }));

  const error = save.error;
  const tag = errorTagOf(error);
  const issues = issuesByTarget(fieldIssuesOf(error), form);
  // The egress guard's refusal and a failed first connection are about where the URL points.
  const aboutUrl = error !== null && (tag === 'MCP_DOMAIN_NOT_ALLOWED' || tag === 'MCP_INSPECTION_FAILED');
  const urlErrors = [...(issues.get('url') ?? []), ...(aboutUrl ? [messageOf(error)] : [])];
  const formErrors = issues.get('form') ?? [];
  // Whether some message sits beside a field; if not, the summary gives the hub's own message.
  const placed = aboutUrl || [...issues.keys()].some((target) => target !== 'form');

  // After a refusal, take the keyboard to the first field the hub complained about.
  useEffect(() => {
    if (error === null) return;
    formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [error]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(form);
  };

  return (
    <form ref={formRef} className="card ms-form" onSubmit={submit} noValidate aria-busy={save.isPending}>
      {editing && (
        <p className="muted">
          Name: <code>{serverName}</code> (stays the same when the title changes)
        </p>
      )}
      <TextField
        name="title"
        label="Title"
        required
        value={form.title}
        onChange={(title) => change({ title })}
        errors={issues.get('title')}
        {...(editing ? {} : { hint: "The server's name is made from it." })}
      />
      <TextField
        name="description"
        label="Description"
        kind="multiline"
        value={form.description}
        onChange={(description) => change({ description })}
        errors={issues.get('description')}
      />
      <fieldset className="ms-fieldset" aria-describedby={issues.has('type') ? 'ms-type-errors' : undefined}>
        <legend>Transport</legend>
        <div className="ms-choices">
          <label className="ms-check">
            <input
              type="radio"
              name="ms-type"
              checked={form.type === 'streamable-http'}
              onChange={() => change({ type: 'streamable-http' })}
            />
            Streamable HTTP (most servers)
          </label>
          <label className="ms-check">
            <input
              type="radio"
              name="ms-type"
              checked={form.type === 'sse'}
              onChange={() => change({ type: 'sse' })}
            />
            SSE (older servers)
          </label>
        </div>
        <FieldErrors id="ms-type-errors" messages={issues.get('type')} />
      </fieldset>
      <TextField
        name="url"
        label="URL"
        kind="url"
        required
        value={form.url}
        onChange={(url) => change({ url })}
        errors={urlErrors}
        hint="The http:// or https:// address of the MCP server. The hub connects to it once before saving."
        describedByMore={
          tag === 'MCP_DOMAIN_NOT_ALLOWED' || tag === 'MCP_INSPECTION_FAILED' ? 'ms-url-more' : undefined
        }
      >
        {tag === 'MCP_DOMAIN_NOT_ALLOWED' && <EgressExplanation />}
        {tag === 'MCP_INSPECTION_FAILED' && (
          <p className="ms-hint muted" id="ms-url-more">
            Check the address and the transport, and that the server is running and reachable from the hub.
          </p>
        )}
      </TextField>
      <HeadersEditor rows={form.headers} onChange={(headers) => change({ headers })} issues={issues} />
      <OAuthSettingsFields form={form} onChange={change} issues={issues} />
      <ApiKeyFields form={form} onChange={change} issues={issues} />

      <div role="alert" className="ms-form-result">
        {error !== null && (
          <div className="alert">
            <p className="ms-flush">
              {placed
                ? 'The hub did not save the server: see the messages beside the fields.'
                : messageOf(error)}
            </p>
            {formErrors.length > 0 && (
              <ul>
                {formErrors.map((message) => (
                  <li key={message}>{message}</li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          {save.isPending ? 'Checking the server…' : editing ? 'Save changes' : 'Add server'}
        </button>
        <Link className="button secondary" to="/my-servers">
          Cancel
        </Link>
      </div>
    </form>
  );
}

/** What an egress refusal means, in plain words: nothing was sent, and who can change it. */
function EgressExplanation() {
  return (
    <div className="notice ms-explain" id="ms-url-more" data-testid="egress-explanation">
      <p className="ms-flush">
        <strong>This address is not allowed.</strong> The hub only lets servers that people add reach the
        addresses its operator allowed. Private and local addresses (such as 10.x.x.x, 192.168.x.x, 127.0.0.1
        or 169.254.169.254) are refused unless the operator allows them, so that nobody can use the hub to
        reach its own network. Nothing was sent to this address.
      </p>
      <p className="ms-flush">If you need this server, ask your hub's administrator to allow its address.</p>
    </div>
  );
}
