import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trackedChildGroups } from '../src/connections/index.js';
import { everythingEntry, everythingStdioCommand } from './peers/everything.js';
import { PROBE_STDIO_SCRIPT, probeStdioCommand } from './peers/probe-stdio.js';
import { textOf } from './support/mcp-helpers.js';
import { startServersHub, type ServersTestHub } from './support/servers-hub.js';

/** The live child processes of this hub (each stdio child leads its own group) running `script`. */
function processesOf(script: string): number[] {
  return trackedChildGroups().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(script);
    } catch {
      return false; // exited
    }
  });
}

/**
 * Issue 15: an app-level stdio server ran one process for REST (a connection declaring no client
 * capabilities) and one for /mcp (declaring sampling, elicitation and roots). A server whose answers
 * are the same either way (the same initialize answer and tool list from both, no request of its
 * own while connecting) now runs one process for both once the hub has seen that; a server whose
 * tools depend on what the client declares (server-everything offers its sampling and elicitation
 * tools only to a client that can take them) keeps two.
 */
describe('app-level stdio servers: one process for REST and /mcp where the answers are the same', () => {
  let hub: ServersTestHub;
  let base: string;
  let token: string;
  let client: Client;

  beforeAll(async () => {
    const probe = probeStdioCommand();
    const everything = everythingStdioCommand();
    hub = await startServersHub({
      yaml: `
mcpServers:
  probe:
    command: ${JSON.stringify(probe.command)}
    args: ${JSON.stringify(probe.args)}
  everything:
    command: ${JSON.stringify(everything.command)}
    args: ${JSON.stringify(everything.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    token = await hub.userToken('profiles@example.com');
    // A client declaring none of sampling, elicitation or roots: it uses the shared relay connection.
    client = new Client({ name: 'stdio-profiles-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await hub?.dispose();
  });

  const rest = async (server: string, tool: string, args: Record<string, unknown>) => {
    const res = await fetch(`${base}/api/mcp/${server}/tools/${tool}/call`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: args }),
    });
    return { status: res.status, text: await res.text() };
  };

  it('a server whose answers do not depend on the client: one process serves both after both were used', async () => {
    expect((await rest('probe', 'echo', { message: 'rest 1' })).text).toContain('Echo: rest 1');
    expect(textOf(await client.callTool({ name: 'probe__echo', arguments: { message: 'mcp 1' } }))).toBe(
      'Echo: mcp 1',
    );
    // The REST process was closed when the /mcp connect judged the server (its exit takes a moment).
    await expect.poll(() => processesOf(PROBE_STDIO_SCRIPT).length, { timeout: 10_000 }).toBe(1);
    const [survivor] = processesOf(PROBE_STDIO_SCRIPT);
    // Both kinds of caller go on working, on that one process.
    expect((await rest('probe', 'echo', { message: 'rest 2' })).text).toContain('Echo: rest 2');
    expect(textOf(await client.callTool({ name: 'probe__echo', arguments: { message: 'mcp 2' } }))).toBe(
      'Echo: mcp 2',
    );
    const listed = await fetch(`${base}/api/mcp/tools`, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('spawn-grandchild'); // a tool of the probe only
    expect(processesOf(PROBE_STDIO_SCRIPT)).toEqual([survivor]);
  });

  it('a server whose tools depend on the client keeps a process for each', async () => {
    expect((await rest('everything', 'echo', { message: 'rest' })).status).toBe(200);
    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name)).toContain('everything__echo');
    expect(
      textOf(await client.callTool({ name: 'everything__echo', arguments: { message: 'mcp' } })),
    ).toContain('mcp');
    // The connect that brought the second profile up waited for the judgement: both stay.
    expect((await rest('everything', 'echo', { message: 'again' })).status).toBe(200);
    expect(processesOf(everythingEntry())).toHaveLength(2);
  });
});
