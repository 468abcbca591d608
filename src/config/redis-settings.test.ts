import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvSettings } from './env-settings.js';

const CWD = path.resolve('/srv/switchboard');

function redisOf(env: Record<string, string>) {
  const result = loadEnvSettings(env, CWD);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return { redis: result.value.redis, redisKeyPrefix: result.value.redisKeyPrefix };
}

function issuesOf(env: Record<string, string>): string[] {
  const result = loadEnvSettings(env, CWD);
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe('Redis settings', () => {
  it('reads a namespace, which prefixes keys and channels', () => {
    expect(redisOf({ REDIS_URL: 'redis://r:6379', REDIS_NAMESPACE: 'team-a.prod' })).toEqual({
      redis: { kind: 'standalone', url: 'redis://r:6379' },
      redisKeyPrefix: 'team-a.prod:',
    });
  });

  it('reads a Cluster, with credentials and TLS for its nodes', () => {
    expect(
      redisOf({
        REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001 ,[::1]:7002',
        REDIS_USERNAME: 'hub',
        REDIS_PASSWORD: 'pw',
        REDIS_TLS: 'true',
      }).redis,
    ).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'hub',
      password: 'pw',
      tls: true,
    });
  });

  it('reads Sentinels and the master name', () => {
    expect(
      redisOf({
        REDIS_SENTINELS: 's1:26379,s2:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_SENTINEL_PASSWORD: 'spw',
      }).redis,
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      sentinelPassword: 'spw',
      username: undefined,
      password: undefined,
      tls: false,
    });
  });

  it('names each mistake precisely, never quoting an item that may hold a password', () => {
    expect(issuesOf({ REDIS_NAMESPACE: '{sb}' })).toEqual([
      "REDIS_NAMESPACE: must be 1 to 64 letters, digits, '.', '_' or '-'",
    ]);
    expect(issuesOf({ REDIS_URL: 'redis://a', REDIS_CLUSTER_NODES: 'b:1' })).toEqual([
      'REDIS_CLUSTER_NODES: must not be set together with REDIS_URL: choose one Redis set-up',
    ]);
    expect(issuesOf({ REDIS_SENTINELS: 's:26379' })).toEqual([
      "REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS: the master's name the Sentinels monitor",
    ]);
    expect(issuesOf({ REDIS_SENTINEL_NAME: 'm' })).toEqual([
      'REDIS_SENTINEL_NAME: is only used with REDIS_SENTINELS',
    ]);
    const bad = issuesOf({ REDIS_CLUSTER_NODES: 'a:7000,:secret@b:7001,c:70000,d' });
    expect(bad).toEqual([
      'REDIS_CLUSTER_NODES: item 2 is not host:port (a port from 1 to 65535; an IPv6 address in brackets)',
      'REDIS_CLUSTER_NODES: item 3 is not host:port (a port from 1 to 65535; an IPv6 address in brackets)',
      'REDIS_CLUSTER_NODES: item 4 is not host:port (a port from 1 to 65535; an IPv6 address in brackets)',
    ]);
    expect(bad.join()).not.toContain('secret');
    expect(issuesOf({ REDIS_CLUSTER_NODES: ' , ' })).toEqual([
      'REDIS_CLUSTER_NODES: must list at least one host:port',
    ]);
    expect(issuesOf({ REDIS_URL: 'redis://a', REDIS_PASSWORD: 'p', REDIS_TLS: 'maybe' })).toEqual([
      'REDIS_PASSWORD: is for REDIS_SENTINELS and REDIS_CLUSTER_NODES; put it in REDIS_URL instead',
      'REDIS_TLS: is for REDIS_SENTINELS and REDIS_CLUSTER_NODES; put it in REDIS_URL instead',
      'REDIS_TLS: must be true or false',
    ]);
    expect(issuesOf({ REDIS_URL: 'http://a' })).toEqual(['REDIS_URL: must be a redis:// or rediss:// URL']);
  });
});
