import net from 'node:net';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

/**
 * Decides once per run whether the PostgreSQL and Redis suites run.
 * With CI=true they are required: unreachable services fail the run instead of skipping.
 * Elsewhere a missing service skips its suites, announced in one line.
 */
export default async function setup(project: TestProject): Promise<void> {
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
  }
}
