import { mkdir, writeFile } from 'node:fs/promises';
import { EXPECTED, type FaultTally, type FaultWindow } from './faults.js';
import type { Snapshot } from './measure.js';
import type { Latency } from './stats.js';

const MiB = 1024 * 1024;

/** One resource compared between the start and the end of the soak. */
export interface Check {
  name: string;
  start: number;
  end: number;
  /** How far above the start the end may be. */
  margin: number;
  unit: string;
  pass: boolean;
}

function check(name: string, start: number, end: number, margin: number, unit = ''): Check {
  return { name, start, end, margin, unit, pass: end <= start + margin };
}

/** The leak checks: each end value within its margin of the start. */
export function resourceChecks(start: Snapshot, end: Snapshot): Check[] {
  const heapMargin = Math.max(start.heapUsedBytes * 0.1, 8 * MiB);
  return [
    check('open file descriptors', start.fds, end.fds, 5),
    check('child processes', start.children, end.children, 0),
    check('active handles and requests', start.activeResources, end.activeResources, 5),
    check('active timers', start.timers, end.timers, 5),
    check('Redis keys without TTL', start.redisKeysWithoutTtl.length, end.redisKeysWithoutTtl.length, 0),
    check('heap used after GC', start.heapUsedBytes / MiB, end.heapUsedBytes / MiB, heapMargin / MiB, 'MiB'),
  ];
}

/** What the soak ran and found; written as JSON and as markdown. */
export interface SoakResult {
  startedAt: string;
  settings: Record<string, number>;
  traffic: {
    calls: number;
    callsPerSecond: number;
    byPath: Record<string, number>;
    httpPeerRestarts: number;
    latencyMs: Record<string, Latency>;
  };
  /** The machine's 1-minute load average at the start and the end (the soak shares it). */
  loadAverage: { start: number; end: number };
  /** The hub log's warnings and errors by message. */
  hubLog: Record<string, number>;
  faults: FaultTally;
  windows: FaultWindow[];
  checks: Check[];
  start: Snapshot;
  end: Snapshot;
  hubExitCode: number | null;
  pass: boolean;
}

const fmt = (value: number, unit: string): string =>
  unit === 'MiB' ? `${value.toFixed(1)} MiB` : String(Math.round(value));

function faultRows(faults: FaultTally): string[] {
  return Object.keys(faults.injected)
    .sort()
    .map((key) => {
      const intent = key.split(' ')[0] as keyof typeof EXPECTED;
      return `| ${key} | ${faults.injected[key]} | ${EXPECTED[intent]} | ${faults.asExpected[key] ?? 0} |`;
    });
}

/** The markdown summary. */
export function markdown(result: SoakResult): string {
  const { faults } = result;
  const codes = Object.entries(faults.failuresByCode)
    .sort(([, a], [, b]) => b - a)
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
  const lines = [
    `# Soak ${result.pass ? 'PASS' : 'FAIL'} (${result.startedAt})`,
    '',
    `${result.settings.minutes} min, ${result.settings.users} users, ${result.settings.concurrency} workers: ` +
      `${result.traffic.calls} calls (${result.traffic.callsPerSecond.toFixed(1)}/s; ` +
      `REST ${result.traffic.byPath.rest ?? 0}, /mcp ${result.traffic.byPath.mcp ?? 0}).`,
    `Load average ${result.loadAverage.start.toFixed(1)} at the start, ${result.loadAverage.end.toFixed(1)} at the end.`,
    '',
    '| path | successful calls | p50 ms | p90 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    ...Object.entries(result.traffic.latencyMs).map(
      ([path, l]) => `| ${path} | ${l.count} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} |`,
    ),
    '',
    '| resource | start | end | margin | result |',
    '|---|---|---|---|---|',
    ...result.checks.map(
      (c) =>
        `| ${c.name} | ${fmt(c.start, c.unit)} | ${fmt(c.end, c.unit)} | +${fmt(c.margin, c.unit)} | ${c.pass ? 'PASS' : 'FAIL'} |`,
    ),
    `| RSS (not checked: the allocator keeps freed pages) | ${(result.start.rssBytes / MiB).toFixed(0)} MiB | ${(result.end.rssBytes / MiB).toFixed(0)} MiB | | |`,
    '',
    '| fault injected | count | expected failure | failed as expected |',
    '|---|---|---|---|',
    ...faultRows(faults),
    `| Redis restarted (down ${result.settings.redisDownMs} ms) | 1 | 503 HUB_ERR_KV_UNAVAILABLE in its window | — |`,
    '',
    `Failed calls: ${faults.failures} (${codes || 'none'}). Injected faults failing as expected: ` +
      `${Object.values(faults.asExpected).reduce((a, b) => a + b, 0)}; other calls failing inside a fault's window ` +
      `(in flight on a crashed connection, or during the Redis restart) with that window's code: ${faults.inWindow}; ` +
      `unexplained: ${faults.unexplained.length} (${faults.unexplained.length === 0 ? 'PASS' : 'FAIL'}).`,
    `HTTP peer restarts: ${result.traffic.httpPeerRestarts}. Hub exit code after SIGTERM: ${result.hubExitCode}.`,
  ];
  const logLines = Object.entries(result.hubLog).sort(([, a], [, b]) => b - a);
  if (logLines.length > 0) {
    lines.push('', 'Hub log, warnings and errors:', '', ...logLines.map(([msg, n]) => `- ${msg} (${n})`));
  }
  if (result.end.redisKeysWithoutTtl.length > 0) {
    lines.push('', `Redis keys without TTL at the end: ${result.end.redisKeysWithoutTtl.join(', ')}`);
  }
  if (faults.unexplained.length > 0) {
    lines.push('', 'Unexplained failures (first 20):', '');
    for (const call of faults.unexplained.slice(0, 20)) {
      lines.push(
        `- ${new Date(call.start).toISOString()} ${call.path} ${call.target} ${call.intent}: ${call.outcome} after ${call.end - call.start} ms`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `latest.json` and `latest.md` into `dir`. */
export async function writeResults(dir: string, result: SoakResult): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Past a few hundred, more unexplained calls say nothing new and only grow the file.
  const unexplained = result.faults.unexplained;
  const json = { ...result, faults: { ...result.faults, unexplained: unexplained.slice(0, 200) } };
  await writeFile(
    `${dir}/latest.json`,
    `${JSON.stringify({ ...json, unexplainedCount: unexplained.length }, null, 2)}\n`,
  );
  await writeFile(`${dir}/latest.md`, markdown(result));
}
