import { describe, expect, it } from 'vitest';
import { validateServerConfig } from './validate-server.js';

describe('validateServerConfig (user-created servers)', () => {
  it('never expands ${NAME}: the string stays as the user wrote it', () => {
    const result = validateServerConfig({ url: 'https://x.example.com/?k=${JWT_SECRET}' });
    expect(result).toEqual({
      ok: true,
      value: { type: 'sse', url: 'https://x.example.com/?k=${JWT_SECRET}' },
    });
  });

  it('infers the transport as LibreChat does and normalises http', () => {
    const types = [
      { command: 'node' },
      { url: 'https://a.example.com' },
      { url: 'wss://a.example.com' },
      { type: 'http', url: 'https://a.example.com' },
    ].map((input) => {
      const result = validateServerConfig(input);
      return result.ok ? result.value.type : result.issues;
    });
    expect(types).toEqual(['stdio', 'sse', 'websocket', 'streamable-http']);
  });

  it('checks URLs against the transport', () => {
    expect(validateServerConfig({ type: 'sse', url: 'ws://a.example.com' })).toEqual({
      ok: false,
      issues: [{ path: 'url', message: 'must be an http:// or https:// URL' }],
    });
    expect(validateServerConfig({ type: 'websocket', url: 'https://a.example.com' })).toEqual({
      ok: false,
      issues: [{ path: 'url', message: 'must be a ws:// or wss:// URL' }],
    });
    expect(validateServerConfig({ type: 'streamable-http', url: 'javascript:alert(1)' }).ok).toBe(false);
  });

  it('explains a missing or unknown type', () => {
    expect(validateServerConfig({ title: 'x' })).toEqual({
      ok: false,
      issues: [
        {
          path: 'type',
          message:
            "is missing: give 'command' for a stdio server, 'url' for a remote one, or an explicit 'type'",
        },
      ],
    });
    expect(validateServerConfig({ type: 'grpc', url: 'https://a' })).toEqual({
      ok: false,
      issues: [
        { path: 'type', message: "must be one of 'stdio', 'sse', 'streamable-http', 'http' or 'websocket'" },
      ],
    });
  });

  it('places issues under a prefix and points misplaced keys to where they belong', () => {
    const result = validateServerConfig(
      { url: 'wss://a.example.com', client_id: 'x', obo: { scopes: 's' } },
      ['config'],
    );
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: 'config.client_id', message: "unknown key 'client_id' (did you mean 'oauth.client_id'?)" },
        {
          path: 'config.obo',
          message: "unknown key 'obo': On-Behalf-Of applies to 'sse' and 'streamable-http' servers only",
        },
      ],
    });
  });

  it('refuses header values that would split a request, and bad header names', () => {
    const result = validateServerConfig({
      url: 'https://a.example.com',
      headers: { 'X-Ok': 'fine', 'X-Bad': 'a\r\nInjected: 1', 'bad name': 'x' },
    });
    expect(result.ok ? [] : result.issues.map((issue) => issue.path)).toEqual([
      'headers.X-Bad',
      'headers["bad name"]',
    ]);
  });

  it('requires custom_header for a custom API key and checks user variable names', () => {
    const result = validateServerConfig({
      url: 'https://a.example.com',
      apiKey: { source: 'admin', authorization_type: 'custom' },
      customUserVars: { '9LIVES': { title: 't', description: 'd' } },
    });
    expect(result.ok ? [] : result.issues).toEqual([
      { path: 'apiKey.custom_header', message: "is required when authorization_type is 'custom'" },
      {
        path: 'customUserVars.9LIVES',
        message: "key must be letters, digits and '_', not starting with a digit",
      },
    ]);
  });

  it('refuses timeouts a Node timer cannot hold', () => {
    const result = validateServerConfig({ command: 'x', timeout: 2 ** 31, initTimeout: 1.5 });
    expect(result.ok ? [] : result.issues.map((issue) => issue.path)).toEqual(['timeout', 'initTimeout']);
  });
});
