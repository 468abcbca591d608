import { z } from 'zod';
import type { EnvSource } from './env-expansion.js';
import { type ConfigIssue, type ConfigResult, formatPath } from './issues.js';
import { configErrorMap, toConfigIssues } from './zod-issues.js';

/** A provider id: it appears in paths (`/auth/sso/<id>/callback`) and in group sources (`oidc:<id>`). */
export const SSO_PROVIDER_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** The id of the provider configured through `OIDC_*` environment variables. */
export const ENV_SSO_PROVIDER_ID = 'oidc';

/** Scopes asked for when a provider names none. */
export const DEFAULT_SSO_SCOPES: readonly string[] = ['openid', 'profile', 'email'];

/** Host names that only ever reach this machine, where plain http cannot be overheard. */
function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)
  );
}

/**
 * Checks an issuer identifier. OpenID Connect Discovery §3: https with no query or fragment; plain
 * http is accepted for a loopback host only, so a local test IdP works and nothing else can be
 * intercepted on the way.
 */
export function checkIssuer(value: string): { ok: true } | { ok: false; message: string } {
  if (!URL.canParse(value)) return { ok: false, message: 'must be an absolute https:// URL' };
  const url = new URL(value);
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    return { ok: false, message: 'must have no credentials, query or fragment' };
  }
  if (url.protocol === 'https:') return { ok: true };
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return { ok: true };
  return {
    ok: false,
    message: 'must be an https:// URL (http:// only for a loopback host such as 127.0.0.1)',
  };
}

/** RFC 6749 §3.3: a scope token is printable ASCII without space, `"` or `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

const providerSchema = z
  .strictObject({
    id: z.string().regex(SSO_PROVIDER_ID_PATTERN, {
      message: 'must be 1-32 lowercase letters, digits and dashes, not starting or ending with a dash',
    }),
    /** The sign-in button's text. */
    name: z.string().trim().min(1).max(80),
    issuer: z.string().superRefine((value, ctx) => {
      const checked = checkIssuer(value);
      if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.message });
    }),
    clientId: z.string().min(1),
    /** Absent: a public client, protected by PKCE alone. */
    clientSecret: z.string().min(1).optional(),
    scopes: z
      .array(z.string().regex(SCOPE_TOKEN, { message: 'is not a valid scope token' }))
      .refine((scopes) => scopes.includes('openid'), { message: "must include 'openid'" })
      .default([...DEFAULT_SSO_SCOPES]),
    /** The ID token or userinfo claim holding the user's group names. */
    groupsClaim: z.string().min(1).optional(),
    /** Members of any of these groups are ADMIN, everyone else USER, set at each sign-in. */
    adminGroups: z.array(z.string().min(1)).min(1).optional(),
    /** Mirror the groups claim into hub groups (source `oidc:<id>`) that servers can be shared with. */
    syncGroups: z.boolean().default(false),
    /** Link a verified email to the local account that has it (OpenID Connect Core §5.7). */
    trustEmail: z.boolean().default(false),
  })
  .superRefine((provider, ctx) => {
    if (provider.groupsClaim !== undefined) return;
    if (provider.adminGroups !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['adminGroups'], message: 'needs groupsClaim to be set' });
    }
    if (provider.syncGroups) {
      ctx.addIssue({ code: 'custom', path: ['syncGroups'], message: 'needs groupsClaim to be set' });
    }
  });

/** One OpenID Connect identity provider, validated, with defaults filled in. */
export type SsoProviderConfig = z.output<typeof providerSchema>;

/** The `auth` section of `switchboard.yaml`. */
export const authSchema = z.strictObject({
  sso: z
    .array(providerSchema)
    .default([])
    .superRefine((providers, ctx) => {
      const seen = new Set<string>();
      providers.forEach((provider, index) => {
        if (seen.has(provider.id)) {
          ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `'${provider.id}' is used twice` });
        }
        seen.add(provider.id);
      });
    }),
});

/** The validated `auth` section. */
export type AuthConfig = z.output<typeof authSchema>;

function read(env: EnvSource, name: string): string | undefined {
  const value = Object.hasOwn(env, name) ? env[name] : undefined;
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function list(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The YAML key each `OIDC_*` variable fills, so an issue names the variable the operator set. */
const ENV_KEYS: Readonly<Record<string, string>> = {
  issuer: 'OIDC_ISSUER',
  name: 'OIDC_NAME',
  clientId: 'OIDC_CLIENT_ID',
  clientSecret: 'OIDC_CLIENT_SECRET',
  scopes: 'OIDC_SCOPES',
  groupsClaim: 'OIDC_GROUPS_CLAIM',
  adminGroups: 'OIDC_ADMIN_GROUPS',
  syncGroups: 'OIDC_SYNC_GROUPS',
  trustEmail: 'OIDC_TRUST_EMAIL',
};

function flag(env: EnvSource, name: string, issues: ConfigIssue[]): boolean | undefined {
  const text = read(env, name)?.toLowerCase();
  if (text === undefined) return undefined;
  if (['true', '1', 'yes'].includes(text)) return true;
  if (['false', '0', 'no'].includes(text)) return false;
  issues.push({ path: name, message: 'must be true or false' });
  return undefined;
}

/**
 * The provider configured by `OIDC_ISSUER`, `OIDC_CLIENT_ID` and the other `OIDC_*` variables (id
 * `oidc`), for deployments configured by environment alone; undefined when `OIDC_ISSUER` is unset.
 */
export function ssoProviderFromEnv(env: EnvSource): ConfigResult<SsoProviderConfig | undefined> {
  const issues: ConfigIssue[] = [];
  const issuer = read(env, 'OIDC_ISSUER');
  if (issuer === undefined) {
    const stray = Object.values(ENV_KEYS).filter((name) => read(env, name) !== undefined);
    if (stray.length === 0) return { ok: true, value: undefined };
    return {
      ok: false,
      issues: stray.map((name) => ({ path: name, message: 'is set but OIDC_ISSUER is not' })),
    };
  }
  const input = {
    id: ENV_SSO_PROVIDER_ID,
    name: read(env, 'OIDC_NAME') ?? 'Single sign-on',
    issuer,
    clientId: read(env, 'OIDC_CLIENT_ID'),
    clientSecret: read(env, 'OIDC_CLIENT_SECRET'),
    scopes: list(read(env, 'OIDC_SCOPES')),
    groupsClaim: read(env, 'OIDC_GROUPS_CLAIM'),
    adminGroups: list(read(env, 'OIDC_ADMIN_GROUPS')),
    syncGroups: flag(env, 'OIDC_SYNC_GROUPS', issues),
    trustEmail: flag(env, 'OIDC_TRUST_EMAIL', issues),
  };
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const parsed = providerSchema.safeParse(defined, { error: configErrorMap });
  if (!parsed.success) {
    for (const issue of toConfigIssues(parsed.error.issues, providerSchema)) {
      const key = issue.path.split(/[.[]/)[0] ?? '';
      issues.push({ path: ENV_KEYS[key] ?? formatPath(['OIDC', key]), message: issue.message });
    }
  }
  if (!parsed.success || issues.length > 0) return { ok: false, issues };
  return { ok: true, value: parsed.data };
}
