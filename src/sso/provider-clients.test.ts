import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIdp, type TestIdp } from '../../test/peers/oidc-idp.js';
import { freePort } from '../../test/support/mcp-helpers.js';
import type { SsoProviderConfig } from '../config/index.js';
import { isHubError } from '../errors/index.js';
import { DISCOVERY_RETRY_AFTER_MS, ProviderClients } from './provider-clients.js';

const provider = (id: string, issuer: string): SsoProviderConfig => ({
  id,
  name: id,
  issuer,
  clientId: 'hub',
  scopes: ['openid'],
  syncGroups: false,
  trustEmail: false,
});

/** Discovery of each provider: once, shared by concurrent callers, and retried only after a pause. */
describe('ProviderClients', () => {
  let idp: TestIdp;
  const requested: string[] = [];
  const clock = { ms: 1_000_000, now: () => clock.ms };
  const counting = (url: string | URL, init?: RequestInit) => {
    requested.push(String(url));
    return fetch(url, init);
  };

  beforeAll(async () => {
    idp = await startOidcIdp({ clients: [{ clientId: 'hub', redirectUri: 'http://127.0.0.1:1/cb' }] });
  });
  afterAll(async () => {
    await idp?.stop();
  });

  it('discovers once, for concurrent and later callers alike', async () => {
    const clients = new ProviderClients(counting, clock);
    requested.length = 0;
    const p = provider('a', idp.issuer);
    const [one, two] = await Promise.all([clients.configuration(p), clients.configuration(p)]);
    expect(one).toBe(two);
    expect(await clients.configuration(p)).toBe(one);
    expect(requested).toEqual([`${idp.issuer}/.well-known/openid-configuration`]);
    expect(one.serverMetadata().issuer).toBe(idp.issuer);
  });

  it('after a failure, fails at once until the pause is over, then tries again', async () => {
    const clients = new ProviderClients(counting, clock);
    const down = provider('down', `http://127.0.0.1:${await freePort()}`);
    requested.length = 0;
    const failure = await clients.configuration(down).catch((error: unknown) => error);
    expect(isHubError(failure, 'HUB_ERR_OAUTH_DISCOVERY_FAILED')).toBe(true);
    expect(requested).toHaveLength(1);

    clock.ms += DISCOVERY_RETRY_AFTER_MS - 1;
    await expect(clients.configuration(down)).rejects.toMatchObject({
      code: 'HUB_ERR_OAUTH_DISCOVERY_FAILED',
    });
    expect(requested).toHaveLength(1);

    clock.ms += 1;
    await expect(clients.configuration(down)).rejects.toMatchObject({
      code: 'HUB_ERR_OAUTH_DISCOVERY_FAILED',
    });
    expect(requested).toHaveLength(2);
  });

  it('refuses a document whose issuer is not the configured one (Discovery §4.3)', async () => {
    const clients = new ProviderClients(counting, clock);
    // The same server under another spelling of its host: its document names 127.0.0.1.
    const other = provider('spelled', idp.issuer.replace('127.0.0.1', 'localhost'));
    requested.length = 0;
    const failure = await clients.configuration(other).catch((error: unknown) => error);
    expect(isHubError(failure, 'HUB_ERR_OAUTH_DISCOVERY_FAILED')).toBe(true);
    // The document was fetched and then refused, not missed.
    expect(requested).toHaveLength(1);
    expect((failure as Error).cause).toMatchObject({ code: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' });
  });
});
