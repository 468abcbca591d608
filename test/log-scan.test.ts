import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLeaks, LOG_FILE_SUFFIX, scanRunRecord, SECRETS_FILE_SUFFIX } from './support/log-scan.js';

// The run-wide SE-05 check itself runs in globalSetup's teardown, on the real run's record; these
// tests give the scanner a record made by hand, to show it finds what it must and prints no secret.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A run directory with one test file's secrets and log lines. */
function runRecord(testFile: string, secrets: Array<[string, string]>, lines: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'switchboard-log-scan-test-'));
  dirs.push(dir);
  const label = `${testFile.replaceAll('/', '__')}.4242`;
  const secretLines = secrets.map(([kind, value]) => `${JSON.stringify({ kind, value })}\n`);
  writeFileSync(path.join(dir, `${label}${SECRETS_FILE_SUFFIX}`), secretLines.join(''));
  writeFileSync(path.join(dir, `${label}${LOG_FILE_SUFFIX}`), lines.map((l) => `${l}\n`).join(''));
  return dir;
}

const TOKEN = 'tok_9f8e7d6c5b4a39281706';

describe('the SE-05 run record scan', () => {
  it('finds a secret anywhere in a line and names its kind and test file, never its value', () => {
    const dir = runRecord(
      'test/leaky.test.ts',
      [['hub-bearer-token', TOKEN]],
      ['{"msg":"fine"}', `{"msg":"oops","url":"/x?t=%22${TOKEN}%22"}`, `{"v":"${TOKEN}${TOKEN}"}`],
    );
    const result = scanRunRecord(dir);
    expect(result).toMatchObject({ logFiles: 1, lines: 3, secrets: 1 });
    expect(result.leaks).toEqual([
      { kind: 'hub-bearer-token', logFile: 'test/leaky.test.ts', lines: 2, firstLine: 2 },
    ]);
    const report = describeLeaks(result, dir);
    expect(report).toContain('hub-bearer-token');
    expect(report).toContain('test/leaky.test.ts');
    expect(report).not.toContain(TOKEN);
  });

  it('tells apart secrets that share their first characters', () => {
    const other = `${TOKEN.slice(0, 14)}zzzzzzzz`;
    const dir = runRecord(
      'test/a.test.ts',
      [
        ['hub-bearer-token', TOKEN],
        ['link-ticket', other],
      ],
      [`{"msg":"${other}"}`],
    );
    expect(scanRunRecord(dir).leaks.map((leak) => leak.kind)).toEqual(['link-ticket']);
  });

  it('finds nothing in clean lines, and ignores secrets under 12 characters', () => {
    const dir = runRecord(
      'test/clean.test.ts',
      [
        ['hub-bearer-token', TOKEN],
        ['user-variable', 'short-val'],
      ],
      ['{"msg":"has_token: true"}', '{"msg":"short-val is too short to be looked for"}'],
    );
    expect(scanRunRecord(dir)).toEqual({ logFiles: 1, lines: 2, secrets: 1, leaks: [] });
  });
});
