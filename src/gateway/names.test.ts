import { describe, expect, it } from 'vitest';
import { exposedName, exposedUri, parseExposedUri } from './names.js';

describe('exposed names', () => {
  it('joins server and tool with a double underscore', () => {
    expect(exposedName('everything', 'echo')).toBe('everything__echo');
  });

  it('shortens long names to 64 characters with a stable hash suffix', () => {
    const long = exposedName(
      'a-server-with-a-rather-long-name',
      'and-a-tool-whose-name-is-also-quite-long-indeed',
    );
    expect(long.length).toBe(64);
    expect(long).toBe(
      exposedName('a-server-with-a-rather-long-name', 'and-a-tool-whose-name-is-also-quite-long-indeed'),
    );
    expect(long).not.toBe(
      exposedName('a-server-with-a-rather-long-name', 'and-a-tool-whose-name-is-also-quite-long-indeee'),
    );
  });

  it('cleans characters clients refuse, without colliding with a name that was clean', () => {
    const slashed = exposedName('fs', 'read/file');
    expect(slashed).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(slashed).not.toBe(exposedName('fs', 'read_file'));
  });

  it('round-trips resource URIs', () => {
    const uri = exposedUri('everything', 'test://static/resource/1?x=a b');
    expect(parseExposedUri(uri)).toEqual({ serverName: 'everything', uri: 'test://static/resource/1?x=a b' });
    expect(parseExposedUri('file:///etc/passwd')).toBeNull();
  });
});
