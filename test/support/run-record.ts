import { openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { LOG_FILE_SUFFIX, MIN_SECRET_LENGTH, SECRETS_FILE_SUFFIX } from './log-scan.js';

/**
 * The run-wide record behind the SE-05 log scan: every log line a test's logger writes and every
 * secret a test mints, appended to files in the run directory that test/global-setup.ts creates
 * (one pair of files per test file and process). After the run, the global teardown looks for
 * every recorded secret in every recorded line (test/support/log-scan.ts).
 */

/** What a recorded secret is; a leak is reported by kind and file, never by value. */
export type SecretKind =
  | 'hub-bearer-token'
  | 'hub-config-secret'
  | 'authorization-header'
  | 'session-cookie'
  | 'csrf-token'
  | 'hub-issued-token'
  | 'oauth-code'
  | 'oauth-state'
  | 'code-verifier'
  | 'client-secret'
  | 'password'
  | 'user-variable'
  | 'api-key'
  | 'server-header-or-env'
  | 'link-ticket'
  | 'as-token'
  | 'as-code'
  | 'as-client-secret';

/** One append-only file, opened on first use (a test file that logs nothing makes none). */
class AppendFile {
  #fd: number | undefined;

  constructor(private readonly suffix: string) {}

  append(text: string): void {
    const dir = runDirectory();
    if (dir === '') return;
    this.#fd ??= openSync(path.join(dir, `${fileLabel()}.${process.pid}${this.suffix}`), 'a');
    writeSync(this.#fd, text);
  }
}

const logFile = new AppendFile(LOG_FILE_SUFFIX);
const secretsFile = new AppendFile(SECRETS_FILE_SUFFIX);
const recorded = new Set<string>();

/** Appends log output (one or more JSON lines, as pino writes them) to the run's record. */
export function recordLogOutput(text: string): void {
  logFile.append(text.endsWith('\n') ? text : `${text}\n`);
}

/** Records a secret a test minted or saw the hub mint; short or repeated values are skipped. */
export function recordSecret(kind: SecretKind, value: unknown): void {
  if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || recorded.has(value)) return;
  recorded.add(value);
  secretsFile.append(`${JSON.stringify({ kind, value })}\n`);
}

let directory: string | undefined;

/**
 * The run directory, or '' outside a run that provides one (nothing is recorded then). A hub some
 * test starts in a child process imports this module outside any vitest worker, where `inject`
 * throws: it records nothing.
 */
function runDirectory(): string {
  directory ??= providedDirectory();
  return directory;
}

function providedDirectory(): string {
  try {
    return inject('runRecordDir') ?? '';
  } catch {
    return '';
  }
}

/** The running test file, relative and flattened, so a leak report names it. */
function fileLabel(): string {
  const testPath = expect.getState().testPath ?? 'unknown-test-file';
  return path.relative(process.cwd(), testPath).replaceAll(path.sep, '__');
}
