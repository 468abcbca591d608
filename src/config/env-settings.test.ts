import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvSettings } from './env-settings.js';

const CWD = path.resolve('/srv/switchboard');

function settings(env: Record<string, string | undefined>) {
  const result = loadEnvSettings(env, CWD);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.value;
}

function issuePaths(env: Record<string, string | undefined>): string[] {
  const result = loadEnvSettings(env, CWD);
  return result.ok ? [] : result.issues.map((issue) => issue.path);
}

describe('loadEnvSettings', () => {
  it('fills in every default', () => {
    expect(settings({})).toEqual({
      port: 3080,
      host: '127.0.0.1',
      publicUrl: 'http://127.0.0.1:3080',
      dataDir: path.join(CWD, 'data'),
      databaseUrl: undefined,
      redisUrl: undefined,
      redis: undefined,
      redisKeyPrefix: 'sb:',
      jwtSecret: undefined,
      credentialsKey: undefined,
      logLevel: 'info',
      nodeEnv: 'development',
      configPath: path.join(CWD, 'switchboard.yaml'),
      authJwksUrl: undefined,
      authIssuer: undefined,
      authAudience: undefined,
      authEmailLinkIssuers: [],
      bodyLimit: 1048576,
      trustProxy: false,
      httpLimits: {},
    });
  });

  it('reads every variable', () => {
    const key = 'ab'.repeat(32);
    expect(
      settings({
        PORT: '8080',
        HOST: '0.0.0.0',
        PUBLIC_URL: 'https://hub.example.com/switchboard/',
        DATA_DIR: '/var/lib/switchboard',
        DATABASE_URL: 'postgres://u:p@db:5432/hub',
        REDIS_URL: 'rediss://cache:6380',
        JWT_SECRET: 's'.repeat(32),
        CREDENTIALS_KEY: key,
        LOG_LEVEL: 'DEBUG',
        NODE_ENV: 'production',
        SWITCHBOARD_CONFIG: 'conf/hub.yaml',
        AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
        AUTH_ISSUER: 'https://idp.example.com/',
        AUTH_AUDIENCE: 'switchboard',
        AUTH_EMAIL_LINK_ISSUERS: ' jwt-secret , https://idp.example.com/',
        BODY_LIMIT: '2048',
        TRUST_PROXY: 'true',
        HTTP_HEADERS_TIMEOUT_MS: '10000',
        HTTP_REQUEST_TIMEOUT_MS: '20000',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
        HTTP_MAX_CONNECTIONS: '500',
      }),
    ).toEqual({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'https://hub.example.com/switchboard',
      dataDir: path.resolve('/var/lib/switchboard'),
      databaseUrl: 'postgres://u:p@db:5432/hub',
      redisUrl: 'rediss://cache:6380',
      redis: { kind: 'standalone', url: 'rediss://cache:6380' },
      redisKeyPrefix: 'sb:',
      jwtSecret: 's'.repeat(32),
      credentialsKey: key,
      logLevel: 'debug',
      nodeEnv: 'production',
      configPath: path.join(CWD, 'conf', 'hub.yaml'),
      authJwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      authIssuer: 'https://idp.example.com/',
      authAudience: 'switchboard',
      authEmailLinkIssuers: ['jwt-secret', 'https://idp.example.com/'],
      bodyLimit: 2048,
      trustProxy: true,
      httpLimits: {
        headersTimeoutMs: 10000,
        requestTimeoutMs: 20000,
        keepAliveTimeoutMs: 65000,
        maxConnections: 500,
      },
    });
  });

  it('derives PUBLIC_URL from HOST and PORT, with a reachable name for wildcard addresses', () => {
    expect(settings({ HOST: 'hub.lan', PORT: '9000' }).publicUrl).toBe('http://hub.lan:9000');
    expect(settings({ HOST: '0.0.0.0' }).publicUrl).toBe('http://localhost:3080');
    expect(settings({ HOST: '::1' }).publicUrl).toBe('http://[::1]:3080');
  });

  it('treats empty values as unset', () => {
    expect(settings({ PORT: '', JWT_SECRET: '  ', LOG_LEVEL: '' })).toMatchObject({
      port: 3080,
      jwtSecret: undefined,
      logLevel: 'info',
    });
  });

  it('names every bad variable at once', () => {
    expect(
      issuePaths({
        PORT: '80a',
        PUBLIC_URL: 'ftp://hub.example.com',
        DATABASE_URL: 'mysql://db/hub',
        REDIS_URL: 'localhost:6379',
        JWT_SECRET: 'short',
        CREDENTIALS_KEY: 'zz'.repeat(32),
        LOG_LEVEL: 'verbose',
        AUTH_JWKS_URL: 'not a url',
        BODY_LIMIT: '1mb',
        TRUST_PROXY: 'maybe',
      }),
    ).toEqual([
      'PORT',
      'PUBLIC_URL',
      'DATABASE_URL',
      'REDIS_URL',
      'JWT_SECRET',
      'CREDENTIALS_KEY',
      'LOG_LEVEL',
      'AUTH_JWKS_URL',
      'AUTH_ISSUER',
      'BODY_LIMIT',
      'TRUST_PROXY',
    ]);
  });

  it('refuses out-of-range numbers and unsafe public URLs', () => {
    expect(issuePaths({ PORT: '65536' })).toEqual(['PORT']);
    expect(issuePaths({ BODY_LIMIT: '0' })).toEqual(['BODY_LIMIT']);
    expect(issuePaths({ PUBLIC_URL: 'https://user:pw@hub.example.com' })).toEqual(['PUBLIC_URL']);
    expect(issuePaths({ PUBLIC_URL: 'https://hub.example.com/?x=1' })).toEqual(['PUBLIC_URL']);
    expect(issuePaths({ CREDENTIALS_KEY: 'ab'.repeat(31) })).toEqual(['CREDENTIALS_KEY']);
  });

  it('keeps only the HTTP limits that are set, so the others take their defaults', () => {
    expect(settings({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000', HTTP_MAX_CONNECTIONS: ' ' }).httpLimits).toEqual({
      keepAliveTimeoutMs: 5000,
    });
  });

  it('refuses HTTP limits that are not positive whole numbers, naming each variable', () => {
    const result = loadEnvSettings(
      {
        HTTP_HEADERS_TIMEOUT_MS: '0',
        HTTP_REQUEST_TIMEOUT_MS: '2.5',
        HTTP_KEEP_ALIVE_TIMEOUT_MS: '-1',
        HTTP_MAX_CONNECTIONS: 'many',
      },
      CWD,
    );
    expect(result.ok ? [] : result.issues).toEqual([
      {
        path: 'HTTP_HEADERS_TIMEOUT_MS',
        message: 'must be a whole number of milliseconds from 1 to 2147483647',
      },
      {
        path: 'HTTP_REQUEST_TIMEOUT_MS',
        message: 'must be a whole number of milliseconds from 1 to 2147483647',
      },
      {
        path: 'HTTP_KEEP_ALIVE_TIMEOUT_MS',
        message: 'must be a whole number of milliseconds from 1 to 2147483647',
      },
      { path: 'HTTP_MAX_CONNECTIONS', message: 'must be a whole number, at least 1' },
    ]);
    // Longer than a Node timer holds: Node would silently use 1 ms instead.
    expect(issuePaths({ HTTP_KEEP_ALIVE_TIMEOUT_MS: String(2 ** 31) })).toEqual([
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
    ]);
    expect(issuePaths({ HTTP_MAX_CONNECTIONS: '0' })).toEqual(['HTTP_MAX_CONNECTIONS']);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(issuePaths({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '4000' })).toEqual([
      'HTTP_HEADERS_TIMEOUT_MS',
    ]);
    expect(issuePaths({ HTTP_HEADERS_TIMEOUT_MS: '4000', HTTP_REQUEST_TIMEOUT_MS: '4000' })).toEqual([]);
  });

  it('V-02: links by email only for issuers it knows, and keeps `jwt-secret` for the shared-secret issuer', () => {
    expect(settings({ AUTH_EMAIL_LINK_ISSUERS: 'jwt-secret' }).authEmailLinkIssuers).toEqual(['jwt-secret']);
    expect(issuePaths({ AUTH_EMAIL_LINK_ISSUERS: 'https://idp.example.com' })).toEqual([
      'AUTH_EMAIL_LINK_ISSUERS',
    ]);
    expect(issuePaths({ AUTH_JWKS_URL: 'https://idp.example.com/jwks', AUTH_ISSUER: 'jwt-secret' })).toEqual([
      'AUTH_ISSUER',
    ]);
  });

  it('never puts a secret value in a message', () => {
    const result = loadEnvSettings({ JWT_SECRET: 'tiny-secret', CREDENTIALS_KEY: 'secret-key-value' }, CWD);
    const text = JSON.stringify(result);
    expect(text).not.toContain('tiny-secret');
    expect(text).not.toContain('secret-key-value');
  });
});
