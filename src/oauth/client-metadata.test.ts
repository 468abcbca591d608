import { describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { checkClientMetadataUrl, clientMetadataDocument } from './client-metadata.js';
import { makeServiceKit } from './oauth-test-kit.js';

describe('checkClientMetadataUrl', () => {
  it.each([
    'https://hub.example/oauth/client-metadata.json',
    'https://hub.example:8443/oauth/client.json',
    'https://hub.example/clients/switchboard?v=1',
  ])('accepts %s', (value) => {
    expect(checkClientMetadataUrl(value)).toEqual({ ok: true, value });
  });

  it.each([
    ['', 'is empty'],
    ['not a url', 'is not a URL'],
    ['http://hub.example/oauth/client.json', 'must use https'],
    ['http://127.0.0.1/oauth/client.json', 'must use https'],
    ['https://user:pw@hub.example/oauth/client.json', 'must not carry credentials'],
    ['https://hub.example/oauth/client.json#me', 'must not have a fragment'],
    ['https://hub.example/oauth/../client.json', 'path segments'],
    ['https://hub.example/./client.json', 'path segments'],
    ['https://hub.example/oauth/%2E%2e/client.json', 'path segments'],
    ['https://hub.example/', 'must have a path'],
    ['https://hub.example', 'must have a path'],
    ['https://HUB.example/oauth/client.json', 'normalised form: https://hub.example/oauth/client.json'],
    ['https://hub.example:443/oauth/client.json', 'normalised form'],
  ])('refuses %j (%s) with HUB_ERR_CONFIG_INVALID', (value, why) => {
    const result = checkClientMetadataUrl(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('HUB_ERR_CONFIG_INVALID');
      expect(result.message).toContain(why);
    }
  });

  it('refuses a value that is not a string', () => {
    expect(checkClientMetadataUrl(42).ok).toBe(false);
  });
});

describe('clientMetadataDocument', () => {
  it('describes the hub as a public web client with exactly the given id and callbacks', () => {
    const redirectUris = ['https://hub.example/api/mcp/a/oauth/callback'];
    const doc = clientMetadataDocument({
      clientId: 'https://hub.example/oauth/client-metadata.json',
      clientName: 'Switchboard',
      redirectUris,
      clientUri: 'https://hub.example/',
    });
    expect(doc).toEqual({
      client_id: 'https://hub.example/oauth/client-metadata.json',
      client_name: 'Switchboard',
      client_uri: 'https://hub.example/',
      redirect_uris: ['https://hub.example/api/mcp/a/oauth/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
    });
    // A copy: the caller's list is not shared with (or changed through) the document.
    expect(doc.redirect_uris).not.toBe(redirectUris);
    // Never a secret of any kind in a document anyone can fetch.
    expect(Object.keys(doc).some((key) => key.includes('secret') || key === 'jwks')).toBe(false);
  });

  it('leaves client_uri out when none is given', () => {
    const doc = clientMetadataDocument({
      clientId: 'https://hub.example/c.json',
      clientName: 'Switchboard',
      redirectUris: [],
    });
    expect('client_uri' in doc).toBe(false);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});

describe('createOAuthService with clientMetadataUrl', () => {
  it('stops startup with HUB_ERR_CONFIG_INVALID and says why', async () => {
    let error: unknown;
    try {
      await makeServiceKit({ clientMetadataUrl: 'http://hub.example/oauth/client.json' });
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_CONFIG_INVALID')).toBe(true);
    expect(error instanceof Error ? error.message : '').toContain('must use https');
  });

  it('logs that the document is offered when the URL is good', async () => {
    const kit = await makeServiceKit({ clientMetadataUrl: 'https://hub.example/oauth/client.json' });
    try {
      expect(kit.logLines.some((line) => line.includes('Client ID Metadata Document offered'))).toBe(true);
    } finally {
      await kit.close();
    }
  });
});
