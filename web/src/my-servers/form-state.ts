import {
  SECRET_MASK,
  type ApiKeySettings,
  type FieldIssue,
  type OAuthSettings,
  type ServerConfig,
  type ServerView,
  type Transport,
} from './my-servers-api.ts';

/** The server form's state, and how it turns into the config the hub takes and back. */

/** One header row. `stored`: the hub holds its value, so an empty value keeps it. */
export interface HeaderRow {
  key: number;
  name: string;
  value: string;
  stored: boolean;
}

/** The OAuth fields as typed (empty means not given). */
export type OAuthFields = Required<Record<keyof OAuthSettings, string>>;

/** Whether a key is sent, and whose: none, the owner's (one for all), or each user's own. */
export type ApiKeyMode = 'none' | ApiKeySettings['source'];

/** Everything the form holds. */
export interface FormState {
  title: string;
  description: string;
  type: Transport;
  url: string;
  headers: HeaderRow[];
  useOAuth: boolean;
  oauth: OAuthFields;
  /** The hub holds a client secret: an empty field keeps it. */
  clientSecretStored: boolean;
  apiKeyMode: ApiKeyMode;
  apiKeyType: ApiKeySettings['authorization_type'];
  customHeader: string;
  key: string;
  /** The hub holds the key: an empty field keeps it. */
  keyStored: boolean;
}

const EMPTY_OAUTH: OAuthFields = {
  authorization_url: '',
  token_url: '',
  client_id: '',
  client_secret: '',
  scope: '',
};

let nextRowKey = 1;

/** A new, empty header row with a key unique on the page. */
export function newHeaderRow(): HeaderRow {
  nextRowKey += 1;
  return { key: nextRowKey, name: '', value: '', stored: false };
}

/** The form for a new server. */
export function emptyForm(): FormState {
  return {
    title: '',
    description: '',
    type: 'streamable-http',
    url: '',
    headers: [],
    useOAuth: false,
    oauth: { ...EMPTY_OAUTH },
    clientSecretStored: false,
    apiKeyMode: 'none',
    apiKeyType: 'bearer',
    customHeader: '',
    key: '',
    keyStored: false,
  };
}

/** The form for editing a server as the hub shows it to someone who may edit it (secrets masked). */
export function formOfView(view: ServerView): FormState {
  const form = emptyForm();
  const oauth = view.oauth ?? {};
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  return {
    ...form,
    title: view.title ?? '',
    description: view.description ?? '',
    type: view.type === 'sse' ? 'sse' : 'streamable-http',
    url: view.url ?? '',
    headers: Object.keys(view.headers ?? {}).map((name) => ({ ...newHeaderRow(), name, stored: true })),
    useOAuth: view.oauth !== undefined,
    oauth: {
      authorization_url: text(oauth.authorization_url),
      token_url: text(oauth.token_url),
      client_id: text(oauth.client_id),
      client_secret: '',
      scope: text(oauth.scope),
    },
    clientSecretStored: oauth.client_secret !== undefined,
    apiKeyMode: view.apiKey?.source ?? 'none',
    apiKeyType: view.apiKey?.authorization_type ?? 'bearer',
    customHeader: view.apiKey?.custom_header ?? '',
    keyStored: view.apiKey?.key !== undefined,
  };
}

/** A secret field's value to send: what was typed, or the mask that keeps the stored one. */
function secretValue(typed: string, stored: boolean): string | undefined {
  if (typed !== '') return typed;
  return stored ? SECRET_MASK : undefined;
}

/** The config the form describes. Empty optional fields are left out; the hub checks the rest. */
export function configOfForm(form: FormState): ServerConfig {
  const config: ServerConfig = { title: form.title.trim(), type: form.type, url: form.url.trim() };
  if (form.description.trim() !== '') config.description = form.description.trim();
  const rows = form.headers.filter((row) => row.name.trim() !== '' || row.value !== '');
  if (rows.length > 0) {
    config.headers = Object.fromEntries(
      rows.map((row) => [row.name.trim(), secretValue(row.value, row.stored) ?? '']),
    );
  }
  if (form.useOAuth) {
    const oauth: OAuthSettings = {};
    for (const field of ['authorization_url', 'token_url', 'client_id', 'scope'] as const) {
      const value = form.oauth[field].trim();
      if (value !== '') oauth[field] = value;
    }
    const secret = secretValue(form.oauth.client_secret, form.clientSecretStored);
    if (secret !== undefined) oauth.client_secret = secret;
    config.oauth = oauth;
  }
  if (form.apiKeyMode !== 'none') {
    const apiKey: ApiKeySettings = { source: form.apiKeyMode, authorization_type: form.apiKeyType };
    if (form.apiKeyType === 'custom') apiKey.custom_header = form.customHeader.trim();
    if (form.apiKeyMode === 'admin') {
      const key = secretValue(form.key, form.keyStored);
      if (key !== undefined) apiKey.key = key;
    }
    config.apiKey = apiKey;
  }
  return config;
}

/** Where an issue is shown: a field's id (`url`, `oauth.token_url`, `header:<name>`…) or `form`. */
export type IssueTarget = string;

const FIELDS: ReadonlySet<string> = new Set([
  'title',
  'description',
  'type',
  'url',
  'headers',
  'oauth',
  'oauth.authorization_url',
  'oauth.token_url',
  'oauth.client_id',
  'oauth.client_secret',
  'oauth.scope',
  'apiKey',
  'apiKey.source',
  'apiKey.authorization_type',
  'apiKey.custom_header',
  'apiKey.key',
]);

/** The header a path such as `headers.X-Team` or `headers["bad name"]` names, if any. */
function headerOfPath(rest: string): string | null {
  const quoted = /^headers\["(.*)"\]$/.exec(rest);
  if (quoted?.[1] !== undefined) return quoted[1];
  return rest.startsWith('headers.') ? rest.slice('headers.'.length) : null;
}

/**
 * The hub's validation issues by where the form shows them: beside the field the path names, a
 * header's row, or (for anything the form has no field for) above the buttons.
 */
export function issuesByTarget(issues: readonly FieldIssue[], form: FormState): Map<IssueTarget, string[]> {
  const byTarget = new Map<IssueTarget, string[]>();
  const add = (target: IssueTarget, message: string) =>
    byTarget.set(target, [...(byTarget.get(target) ?? []), message]);
  const headerNames = new Set(form.headers.map((row) => row.name.trim()));
  for (const issue of issues) {
    const rest = issue.path.replace(/^config\.?/, '');
    const header = headerOfPath(rest);
    if (header !== null) {
      add(headerNames.has(header) ? `header:${header}` : 'headers', `${header}: ${issue.message}`);
    } else if (FIELDS.has(rest)) {
      add(rest, issue.message);
    } else {
      add('form', rest === '' ? issue.message : `${rest}: ${issue.message}`);
    }
  }
  return byTarget;
}
