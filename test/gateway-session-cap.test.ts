import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { trackedChildGroups } from '../src/connections/index.js';
import { parseConnectionKey } from '../src/upstreams/index.js';
import { probeStdioCommand } from './peers/probe-stdio.js';
import { textOf } from './support/mcp-helpers.js';
import { startServersHub, type ServersTestHub } from './support/servers-hub.js';

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const PER_USER = 2;
const TOTAL = 4;

/**
 * Issue 16 follow-up: the connections a /mcp session gets of its own (a stdio process each) are
 * capped per user and server (`mcpSettings.maxSessionConnections`) and per hub
 * (`maxSessionConnectionsTotal`). A session past a cap shares the pooled connection and its call
 * still succeeds; a closed session's slot frees.
 */
describe('session-bound connection caps', () => {
  let hub: ServersTestHub;
  let base: string;
  let open: Session[] = [];

  interface Session {
    client: Client;
    transport: StreamableHTTPClientTransport;
    id: string;
  }

  /** The user's bearer token; made one at a time, since two at once would both create the user. */
  async function tokensOf(...emails: string[]): Promise<string[]> {
    const tokens: string[] = [];
    for (const email of emails) tokens.push(await hub.userToken(email));
    return tokens;
  }

  /** A /mcp session of the token's user; a client declaring sampling gets connections of its own. */
  async function session(
    token: string,
    capabilities: ClientCapabilities = { sampling: {} },
  ): Promise<Session> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'session-cap-test', version: '1.0.0' }, { capabilities });
    if (capabilities.sampling) {
      client.setRequestHandler(CreateMessageRequestSchema, () => ({
        role: 'assistant',
        model: 'm',
        content: { type: 'text', text: 'unused' },
      }));
    }
    await client.connect(transport);
    const made = { client, transport, id: String(transport.sessionId) };
    open.push(made);
    return made;
  }

  const echo = async (s: Session, message: string): Promise<string> =>
    textOf(await s.client.callTool({ name: 'probe__echo', arguments: { message } }));

  /** The live session-bound connections to the probe, as pool key parts. */
  const bound = () =>
    hub.pool
      .keys()
      .filter((key) => hub.pool.state(key) === 'connected')
      .map(parseConnectionKey)
      .filter((parts) => parts?.sessionId != null && parts.serverName === 'probe');
  const boundOf = (s: Session) => bound().filter((parts) => parts?.sessionId === s.id);
  const userId = async (email: string) => (await hub.repos.users.findByEmail(email))?.id;
  /** The log lines saying a session was refused its own connection. */
  const cappedLines = () =>
    hub.logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter(
        (entry) => entry.msg === 'session connection cap reached; this session shares the pooled connection',
      );

  /** Ends sessions with DELETE /mcp and waits until their processes are gone. */
  async function end(sessions: Session[]): Promise<void> {
    await Promise.all(sessions.map((s) => s.transport.terminateSession()));
    await Promise.all(sessions.map((s) => s.client.close()));
    open = open.filter((s) => !sessions.includes(s));
    await expect
      .poll(() => bound().filter((parts) => sessions.some((s) => s.id === parts?.sessionId)))
      .toEqual([]);
  }

  beforeAll(async () => {
    const probe = probeStdioCommand();
    hub = await startServersHub({
      yaml: `
mcpSettings:
  maxSessionConnections: ${PER_USER}
  maxSessionConnectionsTotal: ${TOTAL}
mcpServers:
  probe:
    command: ${JSON.stringify(probe.command)}
    args: ${JSON.stringify(probe.args)}
`,
    });
    await hub.startup.firstPass;
    await hub.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}`;
    // The shared relay connection opens now, so the processes a test counts are sessions' own.
    const plain = await session(await hub.userToken('plain@example.com'), {});
    expect(await echo(plain, 'warm')).toBe('Echo: warm');
    expect(bound()).toEqual([]);
  }, 60_000);

  afterEach(async () => {
    await end(open.filter((s) => boundOf(s).length > 0));
  });

  afterAll(async () => {
    await Promise.all(open.map((s) => s.client.close().catch(() => undefined)));
    await hub?.dispose();
  });

  it('of three sessions of one user calling at once, two get a process of their own and the third shares; another user is not counted with them', async () => {
    const groupsBefore = new Set(trackedChildGroups());
    const [aliceToken = '', bobToken = ''] = await tokensOf('alice@example.com', 'bob@example.com');
    const alice = await Promise.all([1, 2, 3].map(() => session(aliceToken)));
    const bob = await session(bobToken);
    const answers = await Promise.all([...alice, bob].map((s, i) => echo(s, `call ${i}`)));
    expect(answers).toEqual(['Echo: call 0', 'Echo: call 1', 'Echo: call 2', 'Echo: call 3']);

    const aliceId = await userId('alice@example.com');
    expect(bound().filter((parts) => parts?.sessionOwner === aliceId)).toHaveLength(PER_USER);
    expect(boundOf(bob)).toHaveLength(1);
    const added = trackedChildGroups().filter((pid) => !groupsBefore.has(pid));
    expect(added).toHaveLength(PER_USER + 1);

    const capped = alice.filter((s) => boundOf(s).length === 0);
    expect(capped).toHaveLength(1);
    const [shared] = capped;
    if (!shared) throw new Error('no capped session');
    // Still on the shared connection, and said once for the session, not once per call.
    expect(await echo(shared, 'again')).toBe('Echo: again');
    expect(boundOf(shared)).toEqual([]);
    const said = cappedLines().filter((entry) => entry.sessionId === shared.id);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ userId: aliceId, serverName: 'probe', cap: 'perUser', limit: PER_USER });
  });

  it("a deleted session's slot frees: the user's next session gets a connection of its own", async () => {
    const groupsBefore = new Set(trackedChildGroups());
    const token = await hub.userToken('carol@example.com');
    const first = await Promise.all([1, 2, 3].map(() => session(token)));
    await Promise.all(first.map((s, i) => echo(s, `first ${i}`)));
    const owned = first.filter((s) => boundOf(s).length > 0);
    expect(owned).toHaveLength(PER_USER);
    const [leaving] = owned;
    if (!leaving) throw new Error('no bound session');
    const processes = trackedChildGroups().filter((pid) => !groupsBefore.has(pid));
    expect(processes).toHaveLength(PER_USER);

    await end([leaving]);
    await expect.poll(() => processes.filter(alive).length).toBe(PER_USER - 1);
    const next = await session(token);
    expect(await echo(next, 'after')).toBe('Echo: after');
    expect(boundOf(next)).toHaveLength(1);
  });

  it('the hub-wide total holds when sessions of several users connect at once, and a freed slot goes to the next', async () => {
    const tokens = await tokensOf('dan@example.com', 'erin@example.com', 'frank@example.com');
    const sessions = await Promise.all(tokens.flatMap((token) => [session(token), session(token)]));
    const answers = await Promise.all(sessions.map((s, i) => echo(s, `at once ${i}`)));
    expect(answers).toEqual(sessions.map((_, i) => `Echo: at once ${i}`));
    expect(bound()).toHaveLength(TOTAL);

    const capped = sessions.filter((s) => boundOf(s).length === 0);
    expect(capped).toHaveLength(sessions.length - TOTAL);
    for (const s of capped) {
      expect(cappedLines().filter((entry) => entry.sessionId === s.id)).toMatchObject([
        { serverName: 'probe', cap: 'total', limit: TOTAL },
      ]);
    }

    const leaving = sessions.find((s) => boundOf(s).length > 0);
    if (!leaving) throw new Error('no bound session');
    await end([leaving]);
    const [waiting] = capped;
    if (!waiting) throw new Error('no capped session');
    expect(await echo(waiting, 'now')).toBe('Echo: now');
    expect(boundOf(waiting)).toHaveLength(1);
    expect(bound()).toHaveLength(TOTAL);
  });
});
