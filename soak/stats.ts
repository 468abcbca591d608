import { readFile } from 'node:fs/promises';
import type { CallRecord } from './faults.js';

/** Latency percentiles of successful ordinary calls, ms. */
export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function percentiles(durations: number[]): Latency {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

/** Per path (`rest`, `mcp`), the latency of ordinary calls that succeeded. */
export function latencies(calls: readonly CallRecord[]): Record<string, Latency> {
  const byPath = new Map<string, number[]>();
  for (const call of calls) {
    if (call.intent !== 'ok' || call.outcome !== 'ok') continue;
    const list = byPath.get(call.path) ?? [];
    list.push(call.end - call.start);
    byPath.set(call.path, list);
  }
  return Object.fromEntries([...byPath].map(([path, list]) => [path, percentiles(list)]));
}

const LEVELS: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };

/** The hub log's warnings and errors, counted by level and message (pino JSON lines). */
export async function logSummary(logPath: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const line of (await readFile(logPath, 'utf8')).split('\n')) {
    const level = Number(/"level":(\d+)/.exec(line)?.[1]);
    const name = LEVELS[level];
    if (name === undefined) continue;
    const key = `${name}: ${/"msg":"([^"]*)"/.exec(line)?.[1] ?? '?'}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
