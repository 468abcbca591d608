import { describe, expect, it } from 'vitest';
import { formatIssues, formatPath } from './issues.js';

describe('formatPath', () => {
  it('joins plain keys with dots, indexes with brackets and quotes odd keys', () => {
    expect(formatPath(['mcpServers', 'github', 'oauth', 'clientId'])).toBe(
      'mcpServers.github.oauth.clientId',
    );
    expect(formatPath(['mcpSettings', 'allowedDomains', 2])).toBe('mcpSettings.allowedDomains[2]');
    expect(formatPath(['mcpServers', 'my.server', 'url'])).toBe('mcpServers["my.server"].url');
    expect(formatPath([])).toBe('');
  });
});

describe('formatIssues', () => {
  it('prints one `path: message` line per issue, with the position when known', () => {
    expect(
      formatIssues([
        { path: 'mcpServers.a.bogus', message: "unknown key 'bogus'", line: 5, column: 5 },
        { path: 'PORT', message: 'must be a whole number from 0 to 65535' },
        { path: '', message: 'YAML: Map keys must be unique', line: 3, column: 1 },
      ]),
    ).toBe(
      [
        "mcpServers.a.bogus: unknown key 'bogus' (line 5, column 5)",
        'PORT: must be a whole number from 0 to 65535',
        '(file): YAML: Map keys must be unique (line 3, column 1)',
      ].join('\n'),
    );
  });
});
