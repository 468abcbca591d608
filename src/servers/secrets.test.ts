import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyringFromCredentialsKey } from '../credentials/index.js';
import {
  SECRET_MASK,
  keepMaskedSecrets,
  mergeSecrets,
  openSecrets,
  sealSecrets,
  splitSecrets,
} from './secrets.js';
import type { UserServerConfig } from './user-input.js';

const config: UserServerConfig = {
  type: 'streamable-http',
  url: 'https://mcp.example/mcp',
  title: 'T',
  headers: { 'X-Api-Key': 'h-secret', constructor: 'c-secret' },
  oauth: { client_id: 'cid', client_secret: 'o-secret' },
  apiKey: { source: 'admin', key: 'k-secret', authorization_type: 'bearer' },
};

describe('server secrets', () => {
  it('split masks every secret; merge puts them back', () => {
    const { masked, secrets } = splitSecrets(config);
    expect(JSON.stringify(masked)).not.toMatch(/-secret/);
    expect(masked.headers).toEqual({ 'X-Api-Key': SECRET_MASK, constructor: SECRET_MASK });
    expect(masked.oauth?.client_secret).toBe(SECRET_MASK);
    expect(masked.apiKey?.key).toBe(SECRET_MASK);
    expect(mergeSecrets(masked, secrets)).toEqual(config);
  });

  it('a header named like an Object.prototype member finds no inherited value', () => {
    const { masked } = splitSecrets(config);
    expect(mergeSecrets(masked, { headers: {} }).headers?.constructor).toBe(SECRET_MASK);
  });

  it('seal and open round-trip; the AAD binds the envelope to its server', () => {
    const keyring = keyringFromCredentialsKey(randomBytes(32));
    const { secrets } = splitSecrets(config);
    const sealed = sealSecrets(keyring, 'server-1', secrets);
    expect(sealed).not.toContain('h-secret');
    expect(openSecrets(keyring, 'server-1', sealed)).toEqual(secrets);
    expect(() => openSecrets(keyring, 'server-2', sealed)).toThrow(
      expect.objectContaining({ code: 'HUB_ERR_DECRYPT_FAILED' }),
    );
    expect(sealSecrets(keyring, 'server-1', { headers: {} })).toBeNull();
  });

  it('a mask keeps the stored value only where one is stored and the destinations stay', () => {
    const { masked, secrets } = splitSecrets(config);
    expect(keepMaskedSecrets(masked, config, secrets)).toEqual({ ok: true, value: config });
    const moved = keepMaskedSecrets({ ...masked, url: 'https://elsewhere.example/mcp' }, config, secrets);
    expect(moved.ok).toBe(false);
    const newTokenUrl = keepMaskedSecrets(
      { ...masked, oauth: { ...masked.oauth, token_url: 'https://as.evil.example/token' } },
      config,
      secrets,
    );
    expect(newTokenUrl.ok).toBe(false);
    const unknown = keepMaskedSecrets({ ...masked, headers: { 'X-New': SECRET_MASK } }, config, secrets);
    expect(unknown).toEqual({
      ok: false,
      issues: [{ path: 'config.headers.X-New', message: expect.stringContaining('no value') }],
    });
  });
});
