import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdioCommand } from './peers/everything.js';
import { startTestHub, type TestHub } from './support/hub.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INSPECTOR_CLI = path.join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build/cli.js');
// The Inspector finds its own package.json only from a directory whose parent has one.
const INSPECTOR_CWD = path.join(ROOT, 'node_modules');
const RUN_TIMEOUT_MS = 30_000;

interface InspectorRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <inspector-cli> --cli <url> …args`, killed (by its own pid) after {@link RUN_TIMEOUT_MS}. */
function inspector(url: string, args: readonly string[]): Promise<InspectorRun> {
  const child = spawn(process.execPath, [INSPECTOR_CLI, '--cli', url, ...args], {
    cwd: INSPECTOR_CWD,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON the Inspector prints on stdout (its deprecation notice goes to stderr). */
function json(run: InspectorRun): unknown {
  expect(run.code, `exit code; stderr:\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout);
}

/** Issue 6: the MCP Inspector CLI, a real third-party client, lists and calls tools through `/mcp`. */
describe('MCP Inspector CLI through /mcp', () => {
  let hub: TestHub;
  let url: string;
  let header: string;

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
    url = `http://127.0.0.1:${(hub.app.server.address() as AddressInfo).port}/mcp`;
    header = `Authorization: Bearer ${await hub.userToken('inspector@example.com')}`;
  }, 60_000);

  afterAll(async () => {
    await hub?.dispose();
  });

  it('tools/list shows the everything server’s tools as everything__<tool>', async () => {
    const listed = json(await inspector(url, ['--method', 'tools/list', '--header', header])) as {
      tools: { name: string }[];
    };
    const names = listed.tools.map((tool) => tool.name);
    expect(names).toContain('everything__echo');
    expect(names.every((name) => name.startsWith('everything__'))).toBe(true);
  });

  it('tools/call everything__echo message=hi answers "Echo: hi"', async () => {
    const called = json(
      await inspector(url, [
        '--method',
        'tools/call',
        '--tool-name',
        'everything__echo',
        '--tool-arg',
        'message=hi',
        '--header',
        header,
      ]),
    );
    expect(called).toMatchObject({ content: [{ type: 'text', text: 'Echo: hi' }] });
  });

  it('without the header the Inspector is refused (401), and prints no tools', async () => {
    const run = await inspector(url, ['--method', 'tools/list']);
    expect(run.code).not.toBe(0);
    expect(run.stdout).not.toContain('everything__');
    expect(run.stderr).toMatch(/401|Unauthorized|Authentication required/i);
  });
});
