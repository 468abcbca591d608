import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Endings of the two files a test file's process writes in the run directory. */
export const LOG_FILE_SUFFIX = '.log-lines';
export const SECRETS_FILE_SUFFIX = '.secrets';

/**
 * Secrets shorter than this are neither recorded nor looked for: a short string (a test's
 * 'cs-secret') could match unrelated text, and the suites that mint such values check them
 * against their own hub's lines.
 */
export const MIN_SECRET_LENGTH = 12;

/** One recorded secret, as test/support/run-record.ts writes it. */
interface Secret {
  kind: string;
  value: string;
}

/** Where a kind of secret showed up: a log file of the run and how many of its lines. */
export interface Leak {
  kind: string;
  logFile: string;
  lines: number;
  firstLine: number;
}

/** The outcome of a scan; `leaks` is empty when no line holds a secret. */
export interface ScanResult {
  logFiles: number;
  lines: number;
  secrets: number;
  leaks: Leak[];
}

/**
 * Every secret is looked up by its first {@link MIN_SECRET_LENGTH} characters: one map lookup per
 * position of a line, so the scan costs the size of the logs, not logs × secrets. A bit table of
 * the secrets' first three characters skips most positions before any lookup.
 */
interface PrefixIndex {
  byPrefix: Map<string, Secret[]>;
  firstThree: Uint8Array;
}

const TABLE_BITS = 20;

/** A hash of the three characters at `at`, as an index into {@link PrefixIndex.firstThree}. */
function threeAt(text: string, at: number): number {
  const h = text.charCodeAt(at) * 961 + text.charCodeAt(at + 1) * 31 + text.charCodeAt(at + 2);
  return h & ((1 << TABLE_BITS) - 1);
}

/** Looks for every secret recorded in `dir` in every log line recorded there. */
export function scanRunRecord(dir: string): ScanResult {
  const names = readdirSync(dir);
  const secrets = names
    .filter((name) => name.endsWith(SECRETS_FILE_SUFFIX))
    .flatMap((name) => readSecrets(path.join(dir, name)));
  const index = indexByPrefix(secrets);
  const logNames = names.filter((name) => name.endsWith(LOG_FILE_SUFFIX));
  let lines = 0;
  const leaks: Leak[] = [];
  for (const name of logNames) {
    const fileLines = readFileSync(path.join(dir, name), 'utf8').split('\n');
    lines += fileLines.length - 1; // every line ends in a newline: the last piece is empty
    leaks.push(...leaksIn(fileLines, index, testFileOf(name)));
  }
  return { logFiles: logNames.length, lines, secrets: new Set(secrets.map((s) => s.value)).size, leaks };
}

/** `test__a.test.ts.1234.log-lines` → `test/a.test.ts` (the process id only keeps names apart). */
function testFileOf(logName: string): string {
  return logName
    .slice(0, -LOG_FILE_SUFFIX.length)
    .replace(/\.\d+$/, '')
    .replaceAll('__', '/');
}

function readSecrets(file: string): Secret[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Secret) // written by recordSecret: always this shape
    .filter((secret) => secret.value.length >= MIN_SECRET_LENGTH);
}

function indexByPrefix(secrets: Secret[]): PrefixIndex {
  const index: PrefixIndex = { byPrefix: new Map(), firstThree: new Uint8Array(1 << TABLE_BITS) };
  for (const secret of secrets) {
    const prefix = secret.value.slice(0, MIN_SECRET_LENGTH);
    const bucket = index.byPrefix.get(prefix);
    if (bucket === undefined) index.byPrefix.set(prefix, [secret]);
    else bucket.push(secret);
    index.firstThree[threeAt(prefix, 0)] = 1;
  }
  return index;
}

function leaksIn(lines: string[], index: PrefixIndex, logFile: string): Leak[] {
  const byKind = new Map<string, Leak>();
  lines.forEach((line, lineIndex) => {
    for (const kind of kindsFoundIn(line, index)) {
      const leak = byKind.get(kind);
      if (leak) leak.lines += 1;
      else byKind.set(kind, { kind, logFile, lines: 1, firstLine: lineIndex + 1 });
    }
  });
  return [...byKind.values()];
}

/** The kinds of the secrets that appear in one line. */
function kindsFoundIn(line: string, index: PrefixIndex): Set<string> {
  const kinds = new Set<string>();
  for (let at = 0; at + MIN_SECRET_LENGTH <= line.length; at += 1) {
    if (index.firstThree[threeAt(line, at)] === 0) continue;
    const bucket = index.byPrefix.get(line.slice(at, at + MIN_SECRET_LENGTH));
    if (bucket === undefined) continue;
    for (const secret of bucket) if (line.startsWith(secret.value, at)) kinds.add(secret.kind);
  }
  return kinds;
}

/** The report of a scan with leaks: kinds, files and line numbers, never a secret. */
export function describeLeaks(result: ScanResult, dir: string): string {
  const rows = result.leaks.map(
    (leak) =>
      `  - a ${leak.kind} in ${leak.lines} line(s) logged while running ${leak.logFile} ` +
      `(first: line ${leak.firstLine} of its log file)`,
  );
  return [
    `SE-05: recorded secrets appear in ${result.leaks.length} place(s) of the test run's logs:`,
    ...rows,
    `The logs and secrets are kept in ${dir} (the secrets are test data; delete it when done).`,
  ].join('\n');
}
