/**
 * Which client the hub presents (MCP 2025-11-25 authorization, "Client Registration"): the
 * pre-registered one, else its Client ID Metadata Document URL when the AS supports that, else a
 * dynamic registration; and that the chosen client is the one used for code exchange, refresh and
 * revocation. Against a stub AS on 127.0.0.1.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import {
  installStubAs,
  makeServiceKit,
  serverConfig,
  startStubServer,
  type ServiceKit,
  type StubAs,
  type StubRequest,
  type StubServer,
} from './oauth-test-kit.js';

const METADATA_URL = 'https://hub.example/oauth/client-metadata.json';
const CIMD = { client_id_metadata_document_supported: true };

describe('client choice: pre-registered → CIMD → dynamic registration', () => {
  let stub: StubServer;
  const kits: ServiceKit[] = [];
  beforeEach(async () => {
    stub = await startStubServer();
  });
  afterEach(async () => {
    for (const made of kits.splice(0).reverse()) await made.close();
    await stub.stop();
  });

  async function newKit(options: Parameters<typeof makeServiceKit>[0] = {}): Promise<ServiceKit> {
    const made = await makeServiceKit(options);
    kits.push(made);
    return made;
  }

  const ctx = (extra: Record<string, unknown> = {}) => ({
    userId: 'alice',
    serverName: 'srv',
    serverUrl: `${stub.origin}/mcp`,
    config: serverConfig(`${stub.origin}/mcp`, extra),
  });
  const requestsTo = (p: string): StubRequest[] => stub.requests.filter((r) => r.path === p);
  const form = (r: StubRequest | undefined): URLSearchParams => new URLSearchParams(r?.body ?? '');

  /** initiate → (the browser) → callback; returns the authorization URL's query. */
  async function authorize(kit: ServiceKit, extra: Record<string, unknown> = {}): Promise<URLSearchParams> {
    const flow = await kit.service.initiate(ctx(extra));
    const result = await kit.service.completeCallback({
      serverName: 'srv',
      code: 'code-1',
      state: flow.state,
      iss: stub.origin,
      isBound: () => true,
    });
    expect(result.ok).toBe(true);
    return new URL(flow.authorizationUrl).searchParams;
  }

  it('reads client_id_metadata_document_supported from the AS metadata', async () => {
    const kit = await newKit();
    installStubAs(stub, CIMD);
    expect((await kit.service.discover(ctx())).authorizationServer.clientIdMetadataDocumentSupported).toBe(
      true,
    );
    installStubAs(stub);
    expect((await kit.service.discover(ctx())).authorizationServer.clientIdMetadataDocumentSupported).toBe(
      false,
    );
  });

  it('CIMD: the AS supports it and the hub has a URL → client_id is the URL, nothing is registered', async () => {
    const as: StubAs = installStubAs(stub, CIMD);
    const kit = await newKit({ clientMetadataUrl: METADATA_URL });
    const query = await authorize(kit);

    expect(query.get('client_id')).toBe(METADATA_URL);
    expect(query.get('redirect_uri')).toBe('https://hub.example/api/mcp/srv/oauth/callback');
    expect(query.get('code_challenge_method')).toBe('S256');
    // What must not happen: no registration request, no client row stored.
    expect(requestsTo('/register')).toHaveLength(0);
    expect(as.counts.registrations).toBe(0);
    expect(
      await kit.repos.credentials.get({
        userId: 'system',
        serverName: 'srv',
        kind: 'oauth_client',
        issuer: stub.origin,
      }),
    ).toBeNull();

    // The code exchange presents the same public client: client_id in the form, no secret of any kind.
    const exchange = requestsTo('/token')[0];
    expect(form(exchange).get('grant_type')).toBe('authorization_code');
    expect(form(exchange).get('client_id')).toBe(METADATA_URL);
    expect(form(exchange).has('client_secret')).toBe(false);
    expect(exchange?.headers.authorization).toBeUndefined();
    expect(kit.logLines.some((l) => l.includes('"clientRef":"cimd"'))).toBe(true);
  });

  it('CIMD: refresh and revocation use the metadata URL as client_id', async () => {
    installStubAs(stub, CIMD);
    const kit = await newKit({ clientMetadataUrl: METADATA_URL });
    await authorize(kit);
    kit.advance(3_600_000 + 1);
    expect(await kit.service.getAccessToken(ctx())).toMatch(/^at-/);

    const refresh = requestsTo('/token').find((r) => form(r).get('grant_type') === 'refresh_token');
    expect(form(refresh).get('client_id')).toBe(METADATA_URL);
    expect(form(refresh).has('client_secret')).toBe(false);
    expect(refresh?.headers.authorization).toBeUndefined();

    await kit.service.revoke(ctx());
    const revocations = requestsTo('/revoke');
    expect(revocations.length).toBeGreaterThan(0);
    for (const r of revocations) {
      expect(form(r).get('client_id')).toBe(METADATA_URL);
      expect(r.headers.authorization).toBeUndefined();
    }
    expect(requestsTo('/register')).toHaveLength(0);
  });

  it('pre-registered first: oauth.client_id wins over CIMD even when both are available', async () => {
    installStubAs(stub, CIMD);
    const kit = await newKit({ clientMetadataUrl: METADATA_URL });
    const oauth = { oauth: { client_id: 'admin-client', client_secret: 'admin-secret' } };
    const query = await authorize(kit, oauth);
    expect(query.get('client_id')).toBe('admin-client');
    expect(requestsTo('/register')).toHaveLength(0);
    const exchange = requestsTo('/token')[0];
    // The secret goes to the token endpoint (Basic, the AS lists it first), never the URL client id.
    expect(exchange?.headers.authorization).toMatch(/^Basic /);
    expect(form(exchange).get('client_id')).not.toBe(METADATA_URL);
  });

  it('DCR fallback: the AS supports CIMD but the hub has no metadata URL', async () => {
    const as = installStubAs(stub, CIMD);
    const kit = await newKit();
    const query = await authorize(kit);
    expect(as.counts.registrations).toBe(1);
    expect(query.get('client_id')).toMatch(/^client-/);
    expect(query.get('client_id')).not.toBe(METADATA_URL);
  });

  it('DCR fallback: the hub has a metadata URL but the AS does not advertise CIMD', async () => {
    const as = installStubAs(stub);
    const kit = await newKit({ clientMetadataUrl: METADATA_URL });
    const query = await authorize(kit);
    expect(as.counts.registrations).toBe(1);
    expect(query.get('client_id')).toMatch(/^client-/);
    // Still the registered client at refresh time.
    kit.advance(3_600_000 + 1);
    expect(await kit.service.getAccessToken(ctx())).toMatch(/^at-/);
    const refresh = requestsTo('/token').find((r) => form(r).get('grant_type') === 'refresh_token');
    expect(form(refresh).get('client_id')).toBe(query.get('client_id'));
  });

  it('an AS with CIMD but no registration endpoint, and no metadata URL: a clear registration error', async () => {
    installStubAs(stub, { ...CIMD, registration_endpoint: undefined });
    const kit = await newKit();
    let error: unknown;
    try {
      await kit.service.initiate(ctx());
    } catch (e) {
      error = e;
    }
    expect(isHubError(error, 'HUB_ERR_OAUTH_REGISTRATION_FAILED')).toBe(true);
    expect(error instanceof Error ? error.message : '').toContain('client metadata URL');
    expect(requestsTo('/register')).toHaveLength(0);
  });

  it('tokens of a CIMD client whose metadata URL was removed: needs auth, no refresh request', async () => {
    installStubAs(stub, CIMD);
    const sqlitePath = path.join(mkdtempSync(path.join(os.tmpdir(), 'sb-cimd-')), 'hub.db');
    const before = await newKit({ sqlitePath, clientMetadataUrl: METADATA_URL });
    await authorize(before);
    const after = await newKit({ sqlitePath, kv: before.kv });
    after.advance(3_600_000 + 1);
    expect(await after.service.getAccessToken(ctx())).toBeNull();
    expect(requestsTo('/token').filter((r) => form(r).get('grant_type') === 'refresh_token')).toHaveLength(0);
    expect(await after.service.authState(ctx())).toBe('needs_auth');
  });
});
