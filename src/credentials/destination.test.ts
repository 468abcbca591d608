import { describe, expect, it } from 'vitest';
import { serverConfigSchema, type ServerConfig } from '../config/index.js';
import { changedDestinationFields, destinationDigest } from './destination.js';

const config = (extra: Record<string, unknown> = {}): ServerConfig =>
  serverConfigSchema.parse({
    type: 'streamable-http',
    url: 'https://mcp.example/mcp?k={{MCP_API_KEY}}',
    ...extra,
  });

describe('destination digest', () => {
  const base = config({
    title: 'A',
    headers: { 'X-Key': 'k' },
    apiKey: { source: 'user', authorization_type: 'custom', custom_header: 'X-Api-Key' },
    oauth: { client_id: 'c', client_secret: 's', token_url: 'https://as.example/token' },
  });

  it('is the same whatever the key order, and ignores what does not decide where credentials go', () => {
    const reordered = serverConfigSchema.parse({
      oauth: { token_url: 'https://as.example/token', client_secret: 's', client_id: 'c' },
      apiKey: { custom_header: 'X-Api-Key', authorization_type: 'custom', source: 'user' },
      headers: { 'X-Key': 'k' },
      url: 'https://mcp.example/mcp?k={{MCP_API_KEY}}',
      type: 'streamable-http',
      title: 'B',
    });
    expect(destinationDigest(reordered)).toBe(destinationDigest(base));
    const rotatedSecret = config({
      ...base,
      oauth: { ...base.oauth, client_secret: 'rotated' },
      description: 'x',
    });
    expect(destinationDigest(rotatedSecret)).toBe(destinationDigest(base));
    expect(changedDestinationFields(base, rotatedSecret)).toEqual([]);
  });

  it.each([
    ['url', { url: 'https://evil.example/mcp?k={{MCP_API_KEY}}' }, ['url']],
    ['a header template', { headers: { 'X-Key': '{{MCP_API_KEY}}' } }, ['headers.X-Key']],
    [
      'the API key placement',
      { apiKey: { source: 'user', authorization_type: 'bearer' } },
      ['apiKey.authorization_type', 'apiKey.custom_header'],
    ],
    [
      'the revocation endpoint',
      {
        oauth: {
          client_id: 'c',
          client_secret: 's',
          token_url: 'https://as.example/token',
          revocation_endpoint: 'https://evil.example/r',
        },
      },
      ['oauth.revocation_endpoint'],
    ],
    [
      'the scopes',
      {
        oauth: { client_id: 'c', client_secret: 's', token_url: 'https://as.example/token', scope: 'admin' },
      },
      ['oauth.scope'],
    ],
    ['the transport', { type: 'sse' }, ['type']],
  ])('changes with %s', (_what, change, fields) => {
    const changed = config({ ...base, ...change });
    expect(destinationDigest(changed)).not.toBe(destinationDigest(base));
    expect(changedDestinationFields(base, changed)).toEqual(fields);
  });

  it('follows a config that changes in place; only a frozen one is remembered', () => {
    const mutable = config();
    const before = destinationDigest(mutable);
    (mutable as { url: string }).url = 'https://elsewhere.example/mcp';
    expect(destinationDigest(mutable)).not.toBe(before);
    const frozen = Object.freeze(config());
    expect(destinationDigest(frozen)).toBe(destinationDigest(frozen));
    expect(destinationDigest(frozen)).toBe(before);
  });

  it('names fields, never values', () => {
    const changed = config({ ...base, headers: { 'X-Key': 'secret-value' } });
    expect(JSON.stringify(changedDestinationFields(base, changed))).not.toContain('secret-value');
    expect(destinationDigest(changed)).not.toContain('secret-value');
  });
});
