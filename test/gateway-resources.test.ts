import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startTestHub, type TestHub } from './support/hub.js';

/** The text template of server-everything, as it names it. */
const TEXT_TEMPLATE = 'demo://resource/dynamic/text/{resourceId}';

/** An SDK client of one endpoint, and what it heard: updated URIs and resource list changes, in order. */
interface Listener {
  client: Client;
  updates: string[];
  listChanges: number;
}

/**
 * Issue 16: resources, resource templates, subscriptions and `list_changed` on `/mcp` (namespaced)
 * and on `/mcp/servers/:name` (as the server names them), against server-everything over stdio.
 * Its `toggle-subscriber-updates` tool makes it send `notifications/resources/updated` at once for
 * every URI its session is subscribed to; the hub's connection to it is shared by every user.
 */
describe('resources through the MCP endpoints', () => {
  let hub: TestHub;
  let base: string;
  let alice: string;
  let bob: string;
  const clients: Client[] = [];

  async function connect(token: string, path = '/mcp'): Promise<Listener> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'resources-test', version: '1.0.0' });
    const heard: Listener = { client, updates: [], listChanges: 0 };
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      heard.updates.push(n.params.uri);
    });
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      heard.listChanges += 1;
    });
    await client.connect(transport);
    clients.push(client);
    return heard;
  }

  /** Turns server-everything's simulated updates on or off (on: it sends one at once per subscribed URI). */
  const toggleUpdates = (client: Client, tool = 'everything__toggle-subscriber-updates') =>
    client.callTool({ name: tool, arguments: {} });

  beforeAll(async () => {
    const stdio = everythingStdioCommand();
    hub = await startTestHub({
      yaml: `
mcpServers:
  everything:
    command: ${JSON.stringify(stdio.command)}
    args: ${JSON.stringify(stdio.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    [alice, bob] = await Promise.all([hub.userToken('alice@example.com'), hub.userToken('bob@example.com')]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await hub?.dispose();
  });

  describe('/mcp', () => {
    it('declares subscriptions and list changes for resources', async () => {
      const { client } = await connect(alice);
      expect(client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    });

    it('lists templates namespaced; an RFC 6570 expansion reads the upstream’s own expansion', async () => {
      const { client } = await connect(alice);
      const { resourceTemplates } = await client.listResourceTemplates();
      const exposed = `switchboard://everything/${TEXT_TEMPLATE}`;
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(exposed);
      const uri = new UriTemplate(exposed).expand({ resourceId: '7' });
      expect(uri).toBe('switchboard://everything/demo://resource/dynamic/text/7');
      const { contents } = await client.readResource({ uri });
      expect(contents).toHaveLength(1);
      expect(contents[0]).toMatchObject({ uri, mimeType: 'text/plain' });
      expect((contents[0] as { text: string }).text).toMatch(/^Resource 7: /);
    });

    it('lists resources namespaced, and reads them', async () => {
      const { client } = await connect(alice);
      const { resources } = await client.listResources();
      expect(resources.length).toBeGreaterThan(0);
      for (const r of resources) expect(r.uri).toMatch(/^switchboard:\/\/everything\/[a-z]+:/);
      const { contents } = await client.readResource({ uri: resources[0]!.uri });
      expect(contents[0]?.uri).toBe(resources[0]!.uri);
    });

    it('completes a template argument through the exposed template', async () => {
      const { client } = await connect(alice);
      const ref = { type: 'ref/resource' as const, uri: `switchboard://everything/${TEXT_TEMPLATE}` };
      const good = await client.complete({ ref, argument: { name: 'resourceId', value: '12' } });
      expect(good.completion.values).toEqual(['12']);
      const bad = await client.complete({ ref, argument: { name: 'resourceId', value: 'x' } });
      expect(bad.completion.values).toEqual([]);
    });

    it('subscribes, hears updates with the exposed URI, and unsubscribes; sessions sharing the upstream are counted', async () => {
      const a = await connect(alice);
      const b = await connect(bob);
      const shared = 'switchboard://everything/demo://resource/dynamic/text/1';
      const aliceOnly = 'switchboard://everything/demo://resource/dynamic/text/2';
      const bobOnly = 'switchboard://everything/demo://resource/dynamic/text/3';
      await a.client.subscribeResource({ uri: shared });
      await a.client.subscribeResource({ uri: aliceOnly });
      await b.client.subscribeResource({ uri: shared });
      await b.client.subscribeResource({ uri: bobOnly });

      await toggleUpdates(a.client); // on: one update per subscribed URI, at once
      await expect.poll(() => a.updates).toEqual(expect.arrayContaining([shared, aliceOnly]));
      await expect.poll(() => b.updates).toEqual(expect.arrayContaining([shared, bobOnly]));
      expect(a.updates).not.toContain(bobOnly); // each session hears only what it subscribed to
      expect(b.updates).not.toContain(aliceOnly);

      // Alice leaves `shared`: Bob still holds it, so the upstream subscription stays.
      await a.client.unsubscribeResource({ uri: shared });
      await toggleUpdates(a.client); // off
      a.updates.length = 0;
      b.updates.length = 0;
      await toggleUpdates(a.client); // on again: at once, in subscription order (shared first)
      await expect.poll(() => b.updates).toEqual(expect.arrayContaining([shared, bobOnly]));
      await expect.poll(() => a.updates).toContain(aliceOnly);
      expect(a.updates).not.toContain(shared); // it would have come first

      // Bob leaves too: he hears no more of it.
      await b.client.unsubscribeResource({ uri: shared });
      await toggleUpdates(a.client); // off
      b.updates.length = 0;
      await toggleUpdates(a.client); // on
      await expect.poll(() => b.updates).toContain(bobOnly);
      expect(b.updates).not.toContain(shared);
      await toggleUpdates(a.client); // off
    });

    it('resource links in tool results and resources embedded in prompts name exposed URIs, which read', async () => {
      const { client } = await connect(alice);
      const result = await client.callTool({
        name: 'everything__get-resource-links',
        arguments: { count: 2 },
      });
      const links = (result.content as Array<{ type: string; uri?: string }>).filter(
        (c) => c.type === 'resource_link',
      );
      expect(links.map((l) => l.uri)).toEqual([
        'switchboard://everything/demo://resource/dynamic/blob/1',
        'switchboard://everything/demo://resource/dynamic/text/2',
      ]);
      const { contents } = await client.readResource({ uri: links[1]!.uri! });
      expect((contents[0] as { text: string }).text).toMatch(/^Resource 2: /);

      const prompt = await client.getPrompt({
        name: 'everything__resource-prompt',
        arguments: { resourceType: 'Text', resourceId: '5' },
      });
      const embedded = prompt.messages.flatMap((m) =>
        m.content.type === 'resource' ? [m.content.resource] : [],
      );
      expect(embedded.map((r) => r.uri)).toEqual(['switchboard://everything/demo://resource/dynamic/text/5']);
    });

    it('forwards the upstream’s resources/list_changed; the new resource is listed', async () => {
      const a = await connect(alice);
      const before = (await a.client.listResources()).resources.map((r) => r.uri);
      await a.client.callTool({
        name: 'everything__gzip-file-as-resource',
        arguments: { name: 'list-changed.gz', data: 'data:text/plain,hello', outputType: 'resourceLink' },
      });
      await expect.poll(() => a.listChanges).toBeGreaterThan(0);
      const after = (await a.client.listResources()).resources.map((r) => r.uri);
      const added = 'switchboard://everything/demo://resource/session/list-changed.gz';
      expect(before).not.toContain(added);
      expect(after).toContain(added);
    });
  });

  describe('/mcp/servers/everything', () => {
    const path = '/mcp/servers/everything';
    const tool = 'toggle-subscriber-updates';

    it('lists templates as the server names them, reads an expansion and completes an argument', async () => {
      const { client } = await connect(alice, path);
      expect(client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(TEXT_TEMPLATE);
      const uri = new UriTemplate(TEXT_TEMPLATE).expand({ resourceId: '4' });
      const { contents } = await client.readResource({ uri });
      expect(contents[0]).toMatchObject({ uri });
      const { completion } = await client.complete({
        ref: { type: 'ref/resource', uri: TEXT_TEMPLATE },
        argument: { name: 'resourceId', value: '9' },
      });
      expect(completion.values).toEqual(['9']);
    });

    it('subscribes, hears updates with the upstream URI, and one session’s unsubscribe leaves another’s', async () => {
      const a = await connect(alice, path);
      const b = await connect(bob, path);
      const shared = 'demo://resource/dynamic/text/21';
      const marker = 'demo://resource/dynamic/text/22';
      await a.client.subscribeResource({ uri: shared });
      await a.client.subscribeResource({ uri: marker });
      await b.client.subscribeResource({ uri: shared });

      await toggleUpdates(a.client, tool); // on
      await expect.poll(() => a.updates).toEqual(expect.arrayContaining([shared, marker]));
      await expect.poll(() => b.updates).toContain(shared);
      expect(b.updates).not.toContain(marker);

      // Passed through unchanged, Alice's unsubscribe would end Bob's subscription upstream too.
      await a.client.unsubscribeResource({ uri: shared });
      await toggleUpdates(a.client, tool); // off
      a.updates.length = 0;
      b.updates.length = 0;
      await toggleUpdates(a.client, tool); // on
      await expect.poll(() => b.updates).toContain(shared);
      await expect.poll(() => a.updates).toContain(marker);
      expect(a.updates).not.toContain(shared); // it would have come first
      await toggleUpdates(a.client, tool); // off
    });

    it('forwards the upstream’s resources/list_changed', async () => {
      const a = await connect(alice, path);
      await a.client.callTool({
        name: 'gzip-file-as-resource',
        arguments: { name: 'direct.gz', data: 'data:text/plain,hi', outputType: 'resourceLink' },
      });
      await expect.poll(() => a.listChanges).toBeGreaterThan(0);
      const { resources } = await a.client.listResources();
      expect(resources.map((r) => r.uri)).toContain('demo://resource/session/direct.gz');
    });
  });
});
