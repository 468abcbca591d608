/**
 * One timed phase: C workers call echo back to back on one path for a fixed time (closed loop:
 * each worker starts its next call when the previous one answers), while /proc gives the CPU the
 * front and the upstream spent, the front's write system calls, and its RSS at the end.
 */
import type { BenchPath } from './fronts.js';
import { cpuMs, cpuOfAll, rssMiB, writeCalls } from './proc.js';
import { quantile } from './stats.js';

/** What one phase measured. */
export interface PhaseResult {
  readonly calls: number;
  readonly errors: number;
  /** The first error's message, if any. */
  readonly firstError?: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly callsPerSecond: number;
  /** The front process's CPU per successful call, ms (null without a front). */
  readonly frontCpuMsPerCall: number | null;
  /**
   * The front's write system calls per successful call (null without a front): its answers to the
   * client and its messages to the upstream, so batching shows here.
   */
  readonly frontWritesPerCall: number | null;
  /** The upstream processes' CPU per successful call, ms. */
  readonly upstreamCpuMsPerCall: number;
  /** The front's RSS at the end of the phase, MiB (null without a front). */
  readonly frontRssMiB: number | null;
}

/** An error's message with its causes (fetch failed → the socket error under it). */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = current.cause;
  }
  if (parts.length === 0) parts.push(typeof error === 'string' ? error : 'unknown error');
  return parts.join(' ← ');
}

/**
 * Unmeasured calls before the clock starts, so connections are open and the code is compiled: C
 * workers each make one call, and go on back to back until `forMs` has passed (JIT compilation
 * runs on the front's background threads, whose CPU would otherwise count in the first phase).
 */
export async function warmUp(path: BenchPath, concurrency: number, text: string, forMs = 0): Promise<void> {
  const deadline = performance.now() + forMs;
  const worker = async (): Promise<void> => {
    do await path.caller.call(text).catch(() => undefined);
    while (performance.now() < deadline);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function runPhase(
  path: BenchPath,
  concurrency: number,
  text: string,
  durationMs: number,
): Promise<PhaseResult> {
  const upstream = await path.upstreamPids();
  const frontStart = path.frontPid === null ? 0 : await cpuMs(path.frontPid);
  const writesStart = path.frontPid === null ? 0 : await writeCalls(path.frontPid);
  const upstreamStart = await cpuOfAll(upstream);
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = performance.now();
      try {
        await path.caller.call(text);
        latencies.push(performance.now() - t);
      } catch (error) {
        errors += 1;
        firstError ??= describe(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  const frontCpu = path.frontPid === null ? null : (await cpuMs(path.frontPid)) - frontStart;
  const frontWrites = path.frontPid === null ? null : (await writeCalls(path.frontPid)) - writesStart;
  const upstreamCpu = (await cpuOfAll(upstream)) - upstreamStart;
  const frontRss = path.frontPid === null ? null : await rssMiB(path.frontPid);
  latencies.sort((a, b) => a - b);
  const calls = latencies.length;
  const perCall = (ms: number): number => (calls === 0 ? Number.NaN : ms / calls);
  return {
    calls,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    callsPerSecond: (calls / wallMs) * 1000,
    frontCpuMsPerCall: frontCpu === null ? null : perCall(frontCpu),
    frontWritesPerCall: frontWrites === null ? null : perCall(frontWrites),
    upstreamCpuMsPerCall: perCall(upstreamCpu),
    frontRssMiB: frontRss,
  };
}
