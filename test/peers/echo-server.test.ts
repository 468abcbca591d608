import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpCaller } from '../../bench/callers.js';
import { startChild, type BenchChild } from '../../bench/child.js';
import { topFrames } from '../../bench/cpu-profile.js';
import { runPhase } from '../../bench/phase.js';
import type { PhaseResult } from '../../bench/phase.js';
import { writeCalls } from '../../bench/proc.js';
import { summarize } from '../../bench/report.js';
import { textOf } from '../support/mcp-helpers.js';

const ECHO = fileURLToPath(new URL('./echo-server.mjs', import.meta.url));

describe('the benchmark echo server (test/peers/echo-server.mjs)', () => {
  let http: BenchChild;
  let url: string;

  beforeAll(async () => {
    http = startChild('echo-http', process.execPath, [ECHO, 'http']);
    url = `http://127.0.0.1:${(await http.waitFor(/ECHO_LISTENING (\d+)/))[1]}/mcp`;
  });
  afterAll(() => http?.stop());

  it('answers its input unchanged over stdio', async () => {
    const client = new Client({ name: 'echo-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [ECHO, 'stdio'] }));
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'héllo' } }))).toBe('héllo');
    } finally {
      await client.close();
    }
  });

  it('answers 1 MB unchanged over streamable HTTP, and a phase counts calls and the upstream CPU', async () => {
    const caller = await McpCaller.connect(url, 'echo');
    try {
      await caller.call('x'.repeat(1_000_000)); // throws on a wrong length
      const result = await runPhase(
        {
          id: 'direct-http',
          label: 'direct',
          frontPid: null,
          upstreamPids: () => Promise.resolve([http.pid]),
          caller,
        },
        4,
        'x'.repeat(64),
        300,
      );
      expect(result.errors).toBe(0);
      expect(result.calls).toBeGreaterThan(0);
      expect(result.frontCpuMsPerCall).toBeNull();
      expect(result.frontWritesPerCall).toBeNull();
      expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    } finally {
      await caller.close();
    }
  });
});

describe('benchmark summary', () => {
  const phase = (p50Ms: number, callsPerSecond: number): PhaseResult => ({
    calls: 10,
    errors: 0,
    p50Ms,
    p99Ms: p50Ms * 2,
    callsPerSecond,
    frontCpuMsPerCall: 1,
    frontWritesPerCall: 2,
    upstreamCpuMsPerCall: 0.5,
    frontRssMiB: 100,
  });

  it('takes ratios to direct HTTP round by round in the same cell, then the median', () => {
    const cell = { concurrency: 1, payloadBytes: 64 };
    // Round 2 is slow for both paths alike: per-round ratios stay 2, while the ratio of medians would not.
    const rows = summarize([
      { pathId: 'direct-http', label: 'direct', cell, rounds: [phase(1, 100), phase(10, 10), phase(2, 50)] },
      { pathId: 'hub', label: 'hub', cell, rounds: [phase(2, 50), phase(20, 5), phase(4, 25)] },
    ]);
    const hub = rows.find((row) => row.path === 'hub');
    expect(hub?.vsDirect.p50).toBe(2);
    expect(hub?.vsDirect.callsPerSecond).toBe(0.5);
    expect(hub?.vsDirect.deltaP50Ms).toBe(2);
    expect(hub?.p50Ms).toBe(4);
    expect(hub?.vsDirect.frontCpuPerDirectUpstreamCpu).toBe(2);
    expect(hub?.frontWritesPerCall).toBe(2);
  });

  it("counts a process's write system calls from /proc", async () => {
    const before = await writeCalls(process.pid);
    const sink = openSync('/dev/null', 'w');
    for (let i = 0; i < 5; i += 1) writeSync(sink, 'x');
    closeSync(sink);
    expect((await writeCalls(process.pid)) - before).toBeGreaterThanOrEqual(5);
    expect(await writeCalls(2 ** 22 + 1)).toBe(0); // no such process
  });
});

describe('cpu profile reader', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'bench-profile-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sums self time per frame, only for samples inside the windows', async () => {
    const node = (id: number, functionName: string) => ({
      id,
      callFrame: { functionName, url: '', lineNumber: 0 },
    });
    const file = path.join(dir, 'p.cpuprofile');
    await writeFile(
      file,
      JSON.stringify({
        nodes: [node(1, '(root)'), node(2, 'early'), node(3, 'hot'), node(4, 'cold')],
        startTime: 1_000,
        // samples at 1100 (early), 2100, 2200, 2300 (hot, hot, cold), 5000 (early)
        samples: [2, 3, 3, 4, 2],
        timeDeltas: [100, 1000, 100, 100, 2700],
      }),
    );
    const frames = await topFrames(file, [{ startUs: 2_000, endUs: 2_400 }]);
    // A sample stands for the time until the next one: hot 100 + 100 µs, cold 2700 µs.
    expect(frames.map((f) => [f.frame, f.selfMs])).toEqual([
      ['cold', 2.7],
      ['hot', 0.2],
    ]);
    expect((await topFrames(file)).map((f) => f.frame)).toContain('early');
  });
});
