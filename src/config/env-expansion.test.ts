import { describe, expect, it } from 'vitest';
import { expandEnvReferences, findEnvReferences } from './env-expansion.js';

describe('expandEnvReferences', () => {
  it('replaces ${NAME} in string values at any depth and leaves other values alone', () => {
    const document = {
      a: 'Bearer ${TOKEN}',
      list: ['${HOST}:${PORT}', 42, true, null],
      nested: { deep: { url: 'https://${HOST}/mcp' } },
    };
    const { value, issues } = expandEnvReferences(document, {
      TOKEN: 't0k',
      HOST: 'mcp.local',
      PORT: '8080',
    });
    expect(issues).toEqual([]);
    expect(value).toEqual({
      a: 'Bearer t0k',
      list: ['mcp.local:8080', 42, true, null],
      nested: { deep: { url: 'https://mcp.local/mcp' } },
    });
    // A copy: the parsed document is not modified.
    expect(document.a).toBe('Bearer ${TOKEN}');
  });

  it('never expands keys', () => {
    expect(expandEnvReferences({ '${KEY}': 'v' }, { KEY: 'k' }).value).toEqual({ '${KEY}': 'v' });
  });

  it('reports each unset variable by path and name instead of using an empty string', () => {
    const { issues } = expandEnvReferences({ a: { b: ['x', '${MISSING_ONE} ${MISSING_TWO}'] } }, {});
    expect(issues).toEqual([
      { path: 'a.b[1]', message: 'environment variable MISSING_ONE is not set' },
      { path: 'a.b[1]', message: 'environment variable MISSING_TWO is not set' },
    ]);
  });

  it('counts an empty variable as set', () => {
    expect(expandEnvReferences({ a: 'x${EMPTY}y' }, { EMPTY: '' })).toEqual({
      value: { a: 'xy' },
      issues: [],
    });
  });

  it('reads $${ as a literal ${', () => {
    expect(expandEnvReferences({ a: 'cost: $${NOT_A_VAR} and ${V}' }, { V: 'v' }).value).toEqual({
      a: 'cost: ${NOT_A_VAR} and v',
    });
  });

  it('refuses malformed references rather than guessing', () => {
    const { issues } = expandEnvReferences(
      { a: '${not-a-name}', b: '${FOO:-default}', c: 'tail ${OPEN' },
      { FOO: 'f' },
    );
    expect(issues.map((issue) => issue.path)).toEqual(['a', 'b', 'c']);
    expect(issues[2]?.message).toContain('unterminated');
  });

  it('looks only at the variables themselves, not at Object.prototype', () => {
    const { issues } = expandEnvReferences({ a: '${constructor}' }, {});
    expect(issues).toEqual([{ path: 'a', message: 'environment variable constructor is not set' }]);
  });

  it('keeps a __proto__ key as a plain key', () => {
    const document: unknown = JSON.parse('{"__proto__": {"polluted": "${X}"}}');
    const { value } = expandEnvReferences(document, { X: 'x' });
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('findEnvReferences', () => {
  it('names every string holding a ${...} reference', () => {
    expect(
      findEnvReferences({ url: 'https://x/?k=${JWT_SECRET}', headers: { a: 'plain', b: '${B}' } }, [
        'config',
      ]),
    ).toEqual([
      { path: 'config.url', message: 'environment variable references (${...}) are not allowed here' },
      { path: 'config.headers.b', message: 'environment variable references (${...}) are not allowed here' },
    ]);
  });
});
