import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.js';

const FLOOD_SERVER = fileURLToPath(new URL('./peers/stderr-flood-server.mjs', import.meta.url));
const LINES = 20_000;
/** The relay's defaults: 50 lines per 10 s window; a window may turn once while the test runs. */
const MAX_LOGGED = 2 * 50;

interface LogLine {
  msg?: string;
  stderr?: string;
  suppressedLines?: number;
}

/**
 * Issue 14, faults nobody tried: a stdio server that floods its stderr (20,000 lines and one of
 * 1 MiB). The hub's log stays bounded (a few dozen lines, each cut short, the rest counted) and
 * calls keep working.
 */
describe('fault: a stdio server flooding stderr', () => {
  let hub: TestHub | undefined;
  let token: string;

  const call = async (name: string, args: Record<string, unknown>) => {
    const res = await hub!.app.inject({
      method: 'POST',
      url: `/api/mcp/flood/tools/${name}/call`,
      headers: { authorization: `Bearer ${token}` },
      payload: { arguments: args },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ content: Array<{ text: string }> }>().content[0]!.text;
  };

  beforeAll(async () => {
    hub = await startTestHub({
      yaml: `
mcpServers:
  flood:
    type: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(FLOOD_SERVER)}]
`,
    });
    token = await hub.userToken('alice@example.com');
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  it('logs at most a bounded number of short lines, counts the rest, and calls keep working', async () => {
    const before = hub!.logLines.length;
    expect(await call('flood', { lines: LINES, lineBytes: 200 })).toBe(`flooded ${LINES}`);
    expect(await call('echo', { message: 'still here' })).toBe('Echo: still here');
    expect(await call('flood', { lines: LINES, lineBytes: 200 })).toBe(`flooded ${LINES}`);
    expect(await call('echo', { message: 'and here' })).toBe('Echo: and here');

    // Closing the hub ends the child and its stderr: the relay reports what it held back.
    const logs = hub!;
    hub = undefined;
    await logs.dispose();
    const lines = logs.logLines.slice(before).map((line) => JSON.parse(line) as LogLine);
    const relayed = lines.filter((l) => l.msg === 'upstream stderr');
    expect(relayed.length).toBeGreaterThan(0);
    expect(relayed.length).toBeLessThanOrEqual(MAX_LOGGED);
    for (const line of relayed) expect(Buffer.byteLength(line.stderr ?? '')).toBeLessThanOrEqual(1000);
    const suppressed = lines.reduce((sum, l) => sum + (l.suppressedLines ?? 0), 0);
    expect(suppressed).toBeGreaterThan(2 * LINES - MAX_LOGGED - 1000);
    // The whole log of two floods of ~8 MB stays small.
    const bytes = logs.logLines.slice(before).reduce((sum, line) => sum + line.length, 0);
    expect(bytes).toBeLessThan(256 * 1024);
  }, 60_000);
});
