import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { HubError } from '../errors/index.js';
import { asKvError } from './redis-errors.js';

/** ioredis's own reply error class (typed `any` there), as its parser builds them. */
const replyError = (text: string): Error => new (ReplyError as new (message: string) => Error)(text);

/** Real reply texts (Redis 7), as ioredis hands them over. */
const CANNOT_SERVE_NOW = [
  'CLUSTERDOWN The cluster is down',
  'CLUSTERDOWN Hash slot not served',
  'TRYAGAIN Multiple keys request during rehashing of slot',
  'MOVED 3999 127.0.0.1:6381',
  'ASK 3999 127.0.0.1:6381',
  'LOADING Redis is loading the dataset in memory',
  "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
  "READONLY You can't write against a read only replica.",
  'NOREPLICAS Not enough good replicas to write.',
  'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
  'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
];

describe('asKvError: what a failed Redis command means to a caller', () => {
  it.each(CANNOT_SERVE_NOW)('a reply saying Redis cannot serve now is a 503 KV outage: %s', (text) => {
    const reply = replyError(text);
    const mapped = asKvError(reply);
    expect(mapped).toBeInstanceOf(HubError);
    expect(mapped).toMatchObject({ code: 'HUB_ERR_KV_UNAVAILABLE', status: 503, cause: reply });
  });

  it.each([
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR syntax error',
    'NOAUTH Authentication required.',
    'WRONGPASS invalid username-password pair or user is disabled.',
    // A code only starts the message: the same word later in it is no outage.
    'ERR unknown command CLUSTERDOWN',
  ])("Redis's own refusal stays as it is: %s", (text) => {
    const reply = replyError(text);
    expect(asKvError(reply)).toBe(reply);
  });

  it("keeps the hub's own errors", () => {
    const hubError = new HubError('HUB_ERR_NOT_READY', { message: 'KV store is closed' });
    expect(asKvError(hubError)).toBe(hubError);
  });

  it('treats a dropped connection, a timeout or ioredis giving up on a Cluster as an outage', () => {
    for (const error of [
      new Error('Connection is closed.'),
      new Error('Command timed out'),
      new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down'),
    ]) {
      expect(asKvError(error)).toMatchObject({ code: 'HUB_ERR_KV_UNAVAILABLE', cause: error });
    }
  });
});
