import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { canonicalResource } from './discovery.js';
import { parseFlowId, flowIdFor } from './flow-ids.js';
import { checkOAuthUrl, sameIssuer } from './safe-urls.js';
import { chooseScope, combineScopes } from './scopes.js';

describe('checkOAuthUrl', () => {
  it.each([
    'javascript:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'file:///etc/passwd',
    'vbscript:msgbox(1)',
    'ftp://as.example/authorize',
  ])('SS-11: refuses %s', (value) => {
    const result = checkOAuthUrl(value, 'authorization_endpoint');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe('HUB_ERR_OAUTH_METADATA_INVALID');
  });

  it('SS-10: plain http only on loopback', () => {
    expect(checkOAuthUrl('http://as.example/token', 'token_endpoint').ok).toBe(false);
    expect(checkOAuthUrl('http://10.0.0.5/token', 'token_endpoint').ok).toBe(false);
    expect(checkOAuthUrl('http://127.0.0.1:9/token', 'token_endpoint').ok).toBe(true);
    expect(checkOAuthUrl('http://localhost:9/token', 'token_endpoint').ok).toBe(true);
    expect(checkOAuthUrl('http://[::1]:9/token', 'token_endpoint').ok).toBe(true);
    expect(checkOAuthUrl('https://as.example/token', 'token_endpoint').ok).toBe(true);
  });

  it('SS-17: refuses userinfo and fragments; SS-12: serialises with percent-encoding', () => {
    expect(checkOAuthUrl('https://u:p@as.example/a', 'x').ok).toBe(false);
    expect(checkOAuthUrl('https://as.example/a#frag', 'x').ok).toBe(false);
    expect(checkOAuthUrl('', 'x').ok).toBe(false);
    expect(checkOAuthUrl(42, 'x').ok).toBe(false);
    const value = 'https://as.example/a?x=$(calc)&y=`id` z';
    const result = checkOAuthUrl(value, 'authorization_endpoint');
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.href).toBe('https://as.example/a?x=$(calc)&y=`id`%20z');
  });

  it('SS-12: nothing in the OAuth code can start a process or open a browser', () => {
    const dir = new URL('.', import.meta.url);
    const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(sources.length).toBeGreaterThan(10);
    for (const file of sources) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      expect(text, file).not.toMatch(/child_process|\bexecSync\b|\bspawn\(|from 'open'|\bexec\(/);
    }
  });
});

describe('identifiers', () => {
  it('compares issuers tolerating one trailing slash only', () => {
    expect(sameIssuer('https://as.example', 'https://as.example/')).toBe(true);
    expect(sameIssuer('https://as.example/t1', 'https://as.example/t1')).toBe(true);
    expect(sameIssuer('https://as.example/t1', 'https://as.example/t2')).toBe(false);
    expect(sameIssuer('https://evil.example', 'https://as.example')).toBe(false);
  });

  it('makes RFC 8707 resources: no fragment, no slash added to a bare origin', () => {
    expect(canonicalResource('https://mcp.example/mcp#x')).toBe('https://mcp.example/mcp');
    expect(canonicalResource('https://mcp.example')).toBe('https://mcp.example');
    expect(canonicalResource('https://mcp.example/')).toBe('https://mcp.example/');
    expect(canonicalResource('https://MCP.example:443/a')).toBe('https://mcp.example/a');
  });

  it('builds and splits flow ids at the last colon', () => {
    expect(flowIdFor('alice', 'srv')).toBe('alice:srv');
    expect(parseFlowId('oidc:alice:srv')).toEqual({ userId: 'oidc:alice', serverName: 'srv' });
    expect(parseFlowId('system:srv')).toEqual({ userId: 'system', serverName: 'srv' });
    expect(parseFlowId('nocolon')).toBeNull();
    expect(parseFlowId(':srv')).toBeNull();
    expect(parseFlowId('alice:')).toBeNull();
  });
});

describe('scopes', () => {
  it('combines without duplicates, in order (OA-21: a + b → a b)', () => {
    expect(combineScopes('a', 'b')).toBe('a b');
    expect(combineScopes('a b', 'b  c', undefined, null)).toBe('a b c');
    expect(combineScopes('', undefined)).toBeUndefined();
  });

  it('chooses the challenge, then PRM scopes_supported, then the config', () => {
    expect(chooseScope('x', ['y'], 'z')).toBe('x');
    expect(chooseScope(undefined, ['y', 'w'], 'z')).toBe('y w');
    expect(chooseScope(undefined, [], 'z')).toBe('z');
    expect(chooseScope(undefined, undefined, undefined)).toBeUndefined();
  });
});
