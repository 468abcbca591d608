import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { describeLeaks, scanRunRecord } from './support/log-scan.js';

/**
 * Decides once per run whether the PostgreSQL and Redis suites run, and opens the run record.
 * With CI=true the services are required: unreachable ones fail the run instead of skipping.
 * Elsewhere a missing service skips its suites, announced in one line.
 * The returned teardown is the run-wide SE-05 check (see {@link checkRunRecord}).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const runRecordDir = mkdtempSync(path.join(tmpdir(), 'switchboard-run-record-'));
  project.provide('runRecordDir', runRecordDir);
  await checkServices(project);
  return () => checkRunRecord(runRecordDir);
}

/**
 * SE-05 for the whole run: every log line any test hub wrote (at debug level) is searched for
 * every secret any test minted (test/support/run-record.ts). A hit fails the run, naming the kind
 * of secret and the test file whose hub logged it, never the secret.
 */
function checkRunRecord(dir: string): void {
  const started = performance.now();
  const result = scanRunRecord(dir);
  const took = Math.round(performance.now() - started);
  if (result.leaks.length > 0) {
    // Vitest prints a teardown's error but keeps the exit code of the tests: set it ourselves.
    process.exitCode = 1;
    throw new Error(describeLeaks(result, dir));
  }
  rmSync(dir, { recursive: true, force: true });
  console.log(
    `[switchboard tests] SE-05 log scan: ${result.lines} log lines from ${result.logFiles} test files, ` +
      `${result.secrets} minted secrets: none appears in a log line (${took} ms)`,
  );
}

async function checkServices(project: TestProject): Promise<void> {
  const pgUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const [pgUp, redisUp] = await Promise.all([reachable(pgUrl, 5432), reachable(redisUrl, 6379)]);
  const missing = [
    pgUp ? null : `PostgreSQL (${hostPort(pgUrl, 5432)})`,
    redisUp ? null : `Redis (${hostPort(redisUrl, 6379)})`,
  ].filter((x): x is string => x !== null);
  if (missing.length > 0) {
    if (process.env.CI === 'true') {
      throw new Error(
        `CI=true but ${missing.join(' and ')} cannot be reached: these suites are required in CI`,
      );
    }
    console.warn(`[switchboard tests] skipping the ${missing.join(' and ')} suites: service not reachable`);
  }
  project.provide('postgresUrl', pgUp ? pgUrl : '');
  project.provide('redisUrl', redisUp ? redisUrl : '');
}

function hostPort(url: string, fallbackPort: number): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || fallbackPort}`;
}

function reachable(url: string, fallbackPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port || fallbackPort) });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** PostgreSQL URL for the suites that need it; empty when not reachable (skipped). */
    postgresUrl: string;
    /** Redis URL for the suites that need it; empty when not reachable (skipped). */
    redisUrl: string;
    /** Directory of the run-wide record of log lines and minted secrets (SE-05). */
    runRecordDir: string;
  }
}
