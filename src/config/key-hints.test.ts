import { describe, expect, it } from 'vitest';
import { suggestKey, unknownKeyMessage } from './key-hints.js';

const OAUTH_KEYS = ['authorization_url', 'token_url', 'client_id', 'client_secret', 'scope', 'redirect_uri'];

describe('suggestKey', () => {
  it.each([
    ['clientId', 'client_id'],
    ['ClientSecret', 'client_secret'],
    ['scopes', 'scope'],
    ['authorizationUrl', 'authorization_url'],
    ['tokenUrl', 'token_url'],
    ['redirectUri', 'redirect_uri'],
    ['client-id', 'client_id'],
    ['tokne_url', 'token_url'],
  ])('%s → %s among the oauth keys', (key, expected) => {
    expect(suggestKey(key, OAUTH_KEYS)).toBe(expected);
  });

  it('uses the table for words too far apart to guess', () => {
    expect(suggestKey('environment', ['command', 'args', 'env'])).toBe('env');
    expect(suggestKey('mcpservers', ['mcpServers', 'mcpSettings'])).toBe('mcpServers');
  });

  it('offers a known misspelling only where its right spelling is allowed', () => {
    expect(suggestKey('header', ['command', 'args', 'env'])).toBeUndefined();
    expect(suggestKey('header', ['url', 'headers'])).toBe('headers');
  });

  it('V-07: a key named like an Object.prototype member is no known misspelling', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(suggestKey(key, [])).toBeUndefined();
    }
  });

  it('stays quiet when nothing is close or two keys are equally close', () => {
    expect(suggestKey('completelyDifferent', OAUTH_KEYS)).toBeUndefined();
    expect(suggestKey('ab', ['aa', 'bb'])).toBeUndefined();
  });
});

describe('unknownKeyMessage', () => {
  it('points a key placed one level too high to where it belongs', () => {
    const nested = new Map([['oauth', OAUTH_KEYS]]);
    expect(unknownKeyMessage('client_id', { allowed: ['url', 'oauth'], nested, note: undefined })).toBe(
      "unknown key 'client_id' (did you mean 'oauth.client_id'?)",
    );
  });

  it('adds the note when there is no suggestion', () => {
    expect(unknownKeyMessage('zzz', { allowed: [], nested: new Map(), note: 'why' })).toBe(
      "unknown key 'zzz': why",
    );
  });
});
