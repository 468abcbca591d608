import { FieldErrors, TextField } from './Field.tsx';
import type { FormState, OAuthFields } from './form-state.ts';

interface AuthFieldsProps {
  form: FormState;
  onChange: (change: Partial<FormState>) => void;
  issues: Map<string, string[]>;
}

const OAUTH_FIELDS: { field: keyof OAuthFields; label: string; kind: 'url' | 'text' | 'secret' }[] = [
  { field: 'authorization_url', label: 'Authorization URL', kind: 'url' },
  { field: 'token_url', label: 'Token URL', kind: 'url' },
  { field: 'client_id', label: 'Client ID', kind: 'text' },
  { field: 'client_secret', label: 'Client secret', kind: 'secret' },
  { field: 'scope', label: 'Scope', kind: 'text' },
];

/** OAuth settings, only for servers whose authorization server cannot be discovered. */
export function OAuthSettingsFields({ form, onChange, issues }: AuthFieldsProps) {
  const setField = (field: keyof OAuthFields, value: string) =>
    onChange({ oauth: { ...form.oauth, [field]: value } });
  return (
    <fieldset className="ms-fieldset">
      <legend>OAuth</legend>
      <label className="ms-check">
        <input
          type="checkbox"
          checked={form.useOAuth}
          onChange={(event) => onChange({ useOAuth: event.target.checked })}
        />
        Give OAuth settings by hand
      </label>
      <p className="ms-hint muted">
        Most servers that need a sign-in say where themselves, and the hub finds the rest. Give these only
        when the server's documentation asks you to. Each person signs in with their own account.
      </p>
      <FieldErrors id="ms-oauth-errors" messages={issues.get('oauth')} />
      {form.useOAuth &&
        OAUTH_FIELDS.map(({ field, label, kind }) => (
          <TextField
            key={field}
            name={`oauth.${field}`}
            label={label}
            kind={kind}
            value={form.oauth[field]}
            onChange={(value) => setField(field, value)}
            errors={issues.get(`oauth.${field}`)}
            {...(field === 'client_secret' && form.clientSecretStored
              ? { placeholder: 'Saved secret kept', hint: 'Leave empty to keep the saved secret.' }
              : {})}
          />
        ))}
    </fieldset>
  );
}

/** An API key sent with every request: one the owner gives for everyone, or each user's own. */
export function ApiKeyFields({ form, onChange, issues }: AuthFieldsProps) {
  return (
    <fieldset className="ms-fieldset">
      <legend>API key</legend>
      <FieldErrors
        id="ms-apiKey-errors"
        messages={[...(issues.get('apiKey') ?? []), ...(issues.get('apiKey.source') ?? [])]}
      />
      <div className="ms-choices">
        {(
          [
            ['none', 'No API key'],
            ['admin', 'One key, given here, for everyone'],
            ['user', 'Each person gives their own key'],
          ] as const
        ).map(([mode, label]) => (
          <label key={mode} className="ms-check">
            <input
              type="radio"
              name="ms-api-key-mode"
              checked={form.apiKeyMode === mode}
              onChange={() => onChange({ apiKeyMode: mode })}
            />
            {label}
          </label>
        ))}
      </div>
      {form.apiKeyMode !== 'none' && (
        <>
          <label className="ms-select">
            How the key is sent
            <select
              value={form.apiKeyType}
              onChange={(event) => onChange({ apiKeyType: event.target.value as FormState['apiKeyType'] })}
            >
              <option value="bearer">Authorization: Bearer &lt;key&gt;</option>
              <option value="basic">Authorization: Basic &lt;key&gt;</option>
              <option value="custom">In a header of its own</option>
            </select>
          </label>
          <FieldErrors id="ms-apiKey-type-errors" messages={issues.get('apiKey.authorization_type')} />
          {form.apiKeyType === 'custom' && (
            <TextField
              name="apiKey.custom_header"
              label="Header name for the key"
              value={form.customHeader}
              onChange={(value) => onChange({ customHeader: value })}
              errors={issues.get('apiKey.custom_header')}
            />
          )}
          {form.apiKeyMode === 'admin' && (
            <TextField
              name="apiKey.key"
              label="API key"
              kind="secret"
              value={form.key}
              onChange={(value) => onChange({ key: value })}
              errors={issues.get('apiKey.key')}
              {...(form.keyStored
                ? { placeholder: 'Saved key kept', hint: 'Leave empty to keep the saved key.' }
                : {})}
            />
          )}
        </>
      )}
    </fieldset>
  );
}
