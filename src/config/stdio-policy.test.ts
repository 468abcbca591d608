import { describe, expect, it } from 'vitest';
import { validateServerConfig } from './validate-server.js';

const issuesOf = (value: unknown): string[] => {
  const result = validateServerConfig(value);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('stdio policy', () => {
  it('accepts a program with a script and ordinary arguments', () => {
    expect(issuesOf({ command: 'node', args: ['node_modules/pkg/dist/index.js', 'stdio'] })).toEqual([]);
    expect(issuesOf({ command: 'npx', args: ['-y', '@scope/server'] })).toEqual([]);
    expect(issuesOf({ command: '/usr/bin/python3', args: ['-m', 'server'] })).toEqual([]);
  });

  it.each(['bash', 'sh', '/bin/zsh', 'cmd.exe', 'powershell', 'pwsh'])(
    'SX-02: refuses the shell %s',
    (command) => {
      expect(issuesOf({ command, args: ['-c', 'id'] }).join('\n')).toMatch(/shells are not allowed/);
    },
  );

  it.each([
    ['node', '-e'],
    ['node', '--eval=1'],
    ['python', '-c'],
    ['node', '--require=./x.js'],
    ['node', '--import'],
  ])('SX-02/03: refuses %s %s', (command, flag) => {
    expect(issuesOf({ command, args: [flag, 'x'] }).join('\n')).toMatch(/runs inline or preloaded code/);
  });

  it.each(['NODE_OPTIONS', 'LD_PRELOAD', 'DYLD_INSERT_LIBRARIES', 'PATH', 'PYTHONPATH', 'BASH_ENV'])(
    'SX-04: refuses env %s',
    (name) => {
      expect(issuesOf({ command: 'node', args: ['s.js'], env: { [name]: 'x' } }).join('\n')).toMatch(
        /changes how programs load code/,
      );
    },
  );

  it('SX-10: refuses a relative command path', () => {
    expect(issuesOf({ command: './server', args: [] }).join('\n')).toMatch(
      /program name or an absolute path/,
    );
  });
});
