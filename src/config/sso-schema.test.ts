import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { loadConfig } from './load-config.js';
import { checkIssuer, ssoProviderFromEnv } from './sso-schema.js';
import { validateConfigText } from './validate-config.js';

const KEYCLOAK = `
auth:
  sso:
    - id: keycloak
      name: Acme Keycloak
      issuer: https://kc.example.com/realms/acme
      clientId: switchboard
      clientSecret: \${KC_SECRET}
      groupsClaim: groups
      adminGroups: [switchboard-admins]
      syncGroups: true
`;

function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  const result = validateConfigText(text, env);
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe('auth.sso in the file', () => {
  it('reads a provider with defaults filled in and ${VAR} expanded', () => {
    const result = validateConfigText(KEYCLOAK, { KC_SECRET: 'kc-secret' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.sso).toEqual([
      {
        id: 'keycloak',
        name: 'Acme Keycloak',
        issuer: 'https://kc.example.com/realms/acme',
        clientId: 'switchboard',
        clientSecret: 'kc-secret',
        scopes: ['openid', 'profile', 'email'],
        groupsClaim: 'groups',
        adminGroups: ['switchboard-admins'],
        syncGroups: true,
        trustEmail: false,
      },
    ]);
  });

  it('has no providers when the section is absent (a LibreChat file validates unchanged)', () => {
    const result = validateConfigText('mcpServers: {}\n', {});
    expect(result.ok && result.value.sso).toEqual([]);
  });

  it('names each bad key precisely', () => {
    const text = `
auth:
  sso:
    - id: Bad_Id
      name: One
      issuer: http://idp.example.com
      clientId: a
      scopes: [profile]
    - id: two
      name: Two
      issuer: https://idp.example.com?x=1
      clientId: b
      adminGroups: [admins]
    - id: two
      name: Three
      issuer: https://idp.example.org
      clientId: c
      syncGroups: true
`;
    const issues = issuesOf(text);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^auth\.sso\[0\]\.id: must be 1-32 lowercase letters/),
        expect.stringMatching(/^auth\.sso\[0\]\.issuer: must be an https:\/\/ URL/),
        "auth.sso[0].scopes: must include 'openid'",
        'auth.sso[1].issuer: must have no credentials, query or fragment',
        'auth.sso[1].adminGroups: needs groupsClaim to be set',
        'auth.sso[2].syncGroups: needs groupsClaim to be set',
        "auth.sso[2].id: 'two' is used twice",
      ]),
    );
  });

  it('allows plain http only for loopback hosts', () => {
    expect(checkIssuer('http://127.0.0.1:4000').ok).toBe(true);
    expect(checkIssuer('http://localhost:8080/realms/x').ok).toBe(true);
    expect(checkIssuer('http://[::1]:8080').ok).toBe(true);
    expect(checkIssuer('http://10.0.0.5').ok).toBe(false);
    expect(checkIssuer('http://127.0.0.1.nip.io').ok).toBe(false);
    expect(checkIssuer('ftp://idp.example.com').ok).toBe(false);
  });
});

describe('the OIDC_* provider', () => {
  it('is absent without OIDC_ISSUER', () => {
    expect(ssoProviderFromEnv({})).toEqual({ ok: true, value: undefined });
  });

  it('reads every variable into a provider with id oidc', () => {
    const result = ssoProviderFromEnv({
      OIDC_ISSUER: 'https://login.microsoftonline.com/tenant/v2.0',
      OIDC_CLIENT_ID: 'app',
      OIDC_CLIENT_SECRET: 'shh',
      OIDC_NAME: 'Microsoft',
      OIDC_SCOPES: 'openid profile, email',
      OIDC_GROUPS_CLAIM: 'groups',
      OIDC_ADMIN_GROUPS: 'a1, b2',
      OIDC_SYNC_GROUPS: 'yes',
      OIDC_TRUST_EMAIL: 'true',
    });
    expect(result).toEqual({
      ok: true,
      value: {
        id: 'oidc',
        name: 'Microsoft',
        issuer: 'https://login.microsoftonline.com/tenant/v2.0',
        clientId: 'app',
        clientSecret: 'shh',
        scopes: ['openid', 'profile', 'email'],
        groupsClaim: 'groups',
        adminGroups: ['a1', 'b2'],
        syncGroups: true,
        trustEmail: true,
      },
    });
  });

  it('names the variable that is wrong, never its value', () => {
    const result = ssoProviderFromEnv({
      OIDC_ISSUER: 'http://idp.example.com',
      OIDC_CLIENT_SECRET: 'do-not-print',
      OIDC_TRUST_EMAIL: 'maybe',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.issues.map((issue) => issue.path).sort();
    expect(paths).toEqual(['OIDC_CLIENT_ID', 'OIDC_ISSUER', 'OIDC_TRUST_EMAIL']);
    expect(JSON.stringify(result.issues)).not.toContain('do-not-print');
  });

  it('refuses OIDC_* settings without OIDC_ISSUER', () => {
    const result = ssoProviderFromEnv({ OIDC_CLIENT_ID: 'app' });
    expect(result).toEqual({
      ok: false,
      issues: [{ path: 'OIDC_CLIENT_ID', message: 'is set but OIDC_ISSUER is not' }],
    });
  });
});

describe('loadConfig with single sign-on', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-sso-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('puts the file providers first and the OIDC_* one after them', async () => {
    await writeFile(path.join(dir, 'switchboard.yaml'), KEYCLOAK);
    const config = await loadConfig({
      env: { KC_SECRET: 's', OIDC_ISSUER: 'https://idp.example.org', OIDC_CLIENT_ID: 'hub' },
      cwd: dir,
    });
    expect(config.sso.map((p) => p.id)).toEqual(['keycloak', 'oidc']);
    expect(Object.isFrozen(config.sso[0])).toBe(true);
  });

  it('refuses a file provider named oidc next to OIDC_ISSUER', async () => {
    await writeFile(
      path.join(dir, 'switchboard.yaml'),
      'auth:\n  sso:\n    - {id: oidc, name: X, issuer: "https://a.example", clientId: x}\n',
    );
    let caught: unknown;
    try {
      await loadConfig({ env: { OIDC_ISSUER: 'https://b.example', OIDC_CLIENT_ID: 'y' }, cwd: dir });
    } catch (error) {
      caught = error;
    }
    expect(isHubError(caught, 'HUB_ERR_CONFIG_INVALID')).toBe(true);
    expect(JSON.stringify((caught as { details: unknown }).details)).toContain('OIDC_ISSUER');
  });
});
