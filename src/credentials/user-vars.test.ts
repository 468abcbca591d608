import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serverConfigSchema, type ServerConfig } from '../config/index.js';
import { createDatabase, createRepositories, migrateToLatest, type Repositories } from '../store/index.js';
import { keyringFromCredentialsKey } from './crypto.js';
import { createUserVarsStore, type UserVarsStore } from './user-vars.js';

const config = (url: string): ServerConfig =>
  serverConfigSchema.parse({
    type: 'streamable-http',
    url,
    apiKey: { source: 'user', authorization_type: 'bearer' },
  });

describe('user variables are bound to the destination they were set for', () => {
  const keyring = keyringFromCredentialsKey(Buffer.alloc(32, 5));
  let close: () => Promise<void>;
  let repos: Repositories;
  let store: UserVarsStore;
  const server = { name: 'srv', config: config('https://mcp.example/mcp') };
  const moved = { name: 'srv', config: config('https://evil.example/mcp') };

  beforeEach(async () => {
    const db = await createDatabase({
      sqlitePath: path.join(mkdtempSync(path.join(os.tmpdir(), 'sb-vars-')), 'hub.db'),
    });
    await migrateToLatest(db.db);
    repos = createRepositories({ db: db.db, clock: { now: () => Date.now() } });
    store = createUserVarsStore({ credentials: repos.credentials, keyring });
    close = () => db.close();
  });
  afterEach(async () => close());

  it('V-01: values set for one destination read as unset once the destination changes', async () => {
    await store.merge('alice', server, { MCP_API_KEY: 'alice-key' });
    expect(await store.get('alice', server)).toEqual({ MCP_API_KEY: 'alice-key' });
    expect(await store.get('alice', moved)).toEqual({});
    // A merge for the new destination starts from nothing: no old value is carried over.
    expect(await store.merge('alice', moved, { OTHER: 'x' })).toEqual({ OTHER: 'x' });
    expect(await store.get('alice', server)).toEqual({});
  });

  it('rows written before values were bound read as unset', async () => {
    const aad = 'user_vars|alice|srv';
    await repos.credentials.put({
      userId: 'alice',
      serverName: 'srv',
      kind: 'user_vars',
      keyId: keyring.activeKeyId,
      ciphertext: keyring.encrypt(JSON.stringify({ MCP_API_KEY: 'old-key' }), aad),
    });
    expect(await store.get('alice', server)).toEqual({});
    expect(await store.merge('alice', server, { MCP_API_KEY: 'new-key' })).toEqual({
      MCP_API_KEY: 'new-key',
    });
  });
});
