/**
 * The benchmark's summary: per path and cell (concurrency, payload), the median over rounds of each
 * number, and ratios to direct HTTP taken round by round (same round, same cell) before the median,
 * so drift between rounds cancels. Written as JSON and as a markdown table.
 */
import type { PhaseResult } from './phase.js';
import { median } from './stats.js';

export const DIRECT = 'direct-http';

/** One concurrency and payload size. */
export interface Cell {
  readonly concurrency: number;
  readonly payloadBytes: number;
}

/** Every round's phase result of one path in one cell. */
export interface Measured {
  readonly pathId: string;
  readonly label: string;
  readonly cell: Cell;
  readonly rounds: PhaseResult[];
}

/** One row of the summary. */
export interface SummaryRow {
  readonly path: string;
  readonly label: string;
  readonly concurrency: number;
  readonly payloadBytes: number;
  readonly calls: number;
  readonly errors: number;
  readonly firstError?: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly callsPerSecond: number;
  readonly frontCpuMsPerCall: number | null;
  readonly frontWritesPerCall: number | null;
  readonly upstreamCpuMsPerCall: number;
  readonly frontRssMiB: number | null;
  /** Medians of per-round ratios to direct HTTP in the same cell. */
  readonly vsDirect: {
    readonly p50: number;
    readonly p99: number;
    readonly callsPerSecond: number;
    readonly deltaP50Ms: number;
    /** The front's CPU per call ÷ the echo server's own CPU per call on the direct path. */
    readonly frontCpuPerDirectUpstreamCpu: number | null;
  };
}

const sameCell = (a: Cell, b: Cell): boolean =>
  a.concurrency === b.concurrency && a.payloadBytes === b.payloadBytes;

function perRound(
  rows: readonly PhaseResult[],
  direct: readonly PhaseResult[],
  f: (row: PhaseResult, direct: PhaseResult) => number | null,
): number {
  const values: number[] = [];
  rows.forEach((row, i) => {
    const base = direct[i];
    if (base === undefined) return;
    const value = f(row, base);
    if (value !== null) values.push(value);
  });
  return median(values);
}

export function summarize(measured: readonly Measured[]): SummaryRow[] {
  return measured.map((m) => {
    const direct = measured.find((d) => d.pathId === DIRECT && sameCell(d.cell, m.cell))?.rounds ?? [];
    const med = (f: (r: PhaseResult) => number | null): number =>
      median(m.rounds.map(f).filter((v): v is number => v !== null));
    const hasFront = m.rounds.some((r) => r.frontCpuMsPerCall !== null);
    const firstError = m.rounds.find((r) => r.firstError !== undefined)?.firstError;
    return {
      path: m.pathId,
      label: m.label,
      concurrency: m.cell.concurrency,
      payloadBytes: m.cell.payloadBytes,
      calls: m.rounds.reduce((sum, r) => sum + r.calls, 0),
      errors: m.rounds.reduce((sum, r) => sum + r.errors, 0),
      ...(firstError === undefined ? {} : { firstError }),
      p50Ms: med((r) => r.p50Ms),
      p99Ms: med((r) => r.p99Ms),
      callsPerSecond: med((r) => r.callsPerSecond),
      frontCpuMsPerCall: hasFront ? med((r) => r.frontCpuMsPerCall) : null,
      frontWritesPerCall: hasFront ? med((r) => r.frontWritesPerCall) : null,
      upstreamCpuMsPerCall: med((r) => r.upstreamCpuMsPerCall),
      frontRssMiB: hasFront ? med((r) => r.frontRssMiB) : null,
      vsDirect: {
        p50: perRound(m.rounds, direct, (r, d) => r.p50Ms / d.p50Ms),
        p99: perRound(m.rounds, direct, (r, d) => r.p99Ms / d.p99Ms),
        callsPerSecond: perRound(m.rounds, direct, (r, d) => r.callsPerSecond / d.callsPerSecond),
        deltaP50Ms: perRound(m.rounds, direct, (r, d) => r.p50Ms - d.p50Ms),
        frontCpuPerDirectUpstreamCpu: hasFront
          ? perRound(m.rounds, direct, (r, d) =>
              r.frontCpuMsPerCall === null ? null : r.frontCpuMsPerCall / d.upstreamCpuMsPerCall,
            )
          : null,
      },
    };
  });
}

export function payloadLabel(bytes: number): string {
  if (bytes >= 1_000_000) return `${bytes / 1_000_000} MB`;
  if (bytes >= 1024) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}

const fixed = (value: number | null, digits = 2): string =>
  value === null || !Number.isFinite(value) ? '—' : value.toFixed(digits);
const signed = (value: number): string =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)}` : '—';

/** The markdown table: one row per path and cell, grouped by payload then concurrency. */
export function markdownTable(rows: readonly SummaryRow[]): string {
  const lines = [
    '| payload | C | path | p50 ms | ×direct | Δp50 ms | p99 ms | ×direct | calls/s | ×direct | front CPU ms/call | ×echo CPU | front writes/call | upstream CPU ms/call | front RSS MiB | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const ordered = [...rows].sort((a, b) => a.payloadBytes - b.payloadBytes || a.concurrency - b.concurrency);
  for (const row of ordered) {
    const v = row.vsDirect;
    lines.push(
      `| ${payloadLabel(row.payloadBytes)} | ${row.concurrency} | ${row.label} | ${fixed(row.p50Ms)} | ${fixed(v.p50)} | ${signed(v.deltaP50Ms)} | ${fixed(row.p99Ms)} | ${fixed(v.p99)} | ${fixed(row.callsPerSecond, 0)} | ${fixed(v.callsPerSecond)} | ${fixed(row.frontCpuMsPerCall, 3)} | ${fixed(v.frontCpuPerDirectUpstreamCpu)} | ${fixed(row.frontWritesPerCall)} | ${fixed(row.upstreamCpuMsPerCall, 3)} | ${fixed(row.frontRssMiB, 0)} | ${row.errors} |`,
    );
  }
  return lines.join('\n');
}
