/**
 * `npm run bench`: echo calls side by side on every path in one run (see bench/README.md):
 * direct HTTP, mcp-proxy and supergateway in front of a stdio echo, the hub's /mcp and REST in front
 * of the stdio and the HTTP echo, and the hub's /mcp in front of an OAuth-protected echo with a warm
 * token. Rounds interleave the paths (within each cell, every round runs every path, in an order that
 * rotates by round), and the summary is the median of rounds, with ratios to direct HTTP taken within each round.
 *
 * Environment: BENCH_PHASE_MS (default 10000), BENCH_ROUNDS (3), BENCH_CONCURRENCY ("1,16,64"),
 * BENCH_PAYLOADS (bytes, "64,16384,1000000"), BENCH_PATHS (path ids, default all), BENCH_QUICK=1
 * (500 ms phases, one round, C 1 and 16, 64 B), BENCH_PROFILE=1 (hub under --cpu-prof; prints the
 * top self-time frames of the hub-http-mcp phases, or of the path BENCH_PROFILE_PATH names), BENCH_OUT
 * (default bench/results).
 */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { framesTable, monotonicUs, placeOf, topFrames, type Frame, type Window } from './cpu-profile.js';
import { startFronts } from './fronts.js';
import { runPhase, warmUp } from './phase.js';
import { markdownTable, payloadLabel, summarize, type Cell, type Measured } from './report.js';

const quick = process.env.BENCH_QUICK === '1';
const numbers = (value: string | undefined, fallback: string): number[] =>
  (value ?? fallback).split(',').map((each) => Number(each.trim()));
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? (quick ? 500 : 10_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
/** Unmeasured calls on each path before its first phase in a cell (see warmUp). */
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? (quick ? 0 : 1_000));
/**
 * Unmeasured calls on each path once, before the first cell, half at C=1 and half at C=16 with the
 * smallest payload: every process of the run (this client, each front, each echo) starts cold, and
 * the first cell would otherwise measure their compilation as well as the calls.
 */
const PREWARM_MS = Number(process.env.BENCH_PREWARM_MS ?? (quick ? 0 : 4_000));
const CONCURRENCY = numbers(process.env.BENCH_CONCURRENCY, quick ? '1,16' : '1,16,64');
const PAYLOADS = numbers(process.env.BENCH_PAYLOADS, quick ? '64' : '64,16384,1000000');
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(import.meta.dirname, 'results'));
const PROFILE = process.env.BENCH_PROFILE === '1';
const PROFILE_DIR = path.join(OUT, 'profiles');
const PROFILED_PATH = process.env.BENCH_PROFILE_PATH ?? 'hub-http-mcp';

async function newestProfile(since: number): Promise<string | undefined> {
  const files = (await readdir(PROFILE_DIR)).filter((f) => f.endsWith('.cpuprofile'));
  const dated = await Promise.all(
    files.map(async (f) => ({ f, at: (await stat(path.join(PROFILE_DIR, f))).mtimeMs })),
  );
  const newest = dated.filter((d) => d.at >= since).sort((a, b) => b.at - a.at)[0];
  return newest === undefined ? undefined : path.join(PROFILE_DIR, newest.f);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  await mkdir(OUT, { recursive: true });
  if (PROFILE) await mkdir(PROFILE_DIR, { recursive: true });
  const only = process.env.BENCH_PATHS
    ? new Set(['direct-http', ...process.env.BENCH_PATHS.split(',')])
    : undefined;
  const hubFlags = [
    ...(process.env.BENCH_HUB_FLAGS?.split(' ').filter((flag) => flag !== '') ?? []),
    ...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []),
  ];
  const fronts = await startFronts({
    ...(hubFlags.length === 0 ? {} : { hubFlags }),
    ...(only === undefined ? {} : { only }),
    ...(process.env.BENCH_BASELINE_MAIN ? { baselineMain: process.env.BENCH_BASELINE_MAIN } : {}),
  });
  const cells: Cell[] = CONCURRENCY.flatMap((concurrency) =>
    PAYLOADS.map((payloadBytes) => ({ concurrency, payloadBytes })),
  );
  const measured = new Map<string, Measured>();
  const windows: Window[] = [];
  const total = ROUNDS * cells.length * fronts.paths.length;
  const totalMs =
    total * PHASE_MS + cells.length * fronts.paths.length * WARMUP_MS + fronts.paths.length * PREWARM_MS;
  console.error(
    `bench: ${fronts.paths.length} paths × ${cells.length} cells × ${ROUNDS} rounds of ${PHASE_MS} ms ≈ ${Math.round(totalMs / 60_000)} min`,
  );
  let done = 0;
  try {
    const smallest = 'x'.repeat(Math.min(...PAYLOADS));
    for (const each of fronts.paths) {
      await warmUp(each, 1, smallest, PREWARM_MS / 2);
      await warmUp(each, 16, smallest, PREWARM_MS / 2);
    }
    // Cell by cell, and within a cell round by round over every path (the order rotating each
    // round): drift hits every path of a cell alike, and a run stopped early keeps whole cells.
    for (const cell of cells) {
      const text = 'x'.repeat(cell.payloadBytes);
      for (let round = 0; round < ROUNDS; round++) {
        const order = fronts.paths.map((_, i) => fronts.paths[(i + round) % fronts.paths.length]!);
        for (const each of order) {
          await warmUp(each, cell.concurrency, text, round === 0 ? WARMUP_MS : 0);
          const startUs = monotonicUs();
          const result = await runPhase(each, cell.concurrency, text, PHASE_MS);
          if (each.id === PROFILED_PATH) windows.push({ startUs, endUs: monotonicUs() });
          const key = `${each.id}|${cell.concurrency}|${cell.payloadBytes}`;
          const entry = measured.get(key) ?? { pathId: each.id, label: each.label, cell, rounds: [] };
          entry.rounds.push(result);
          measured.set(key, entry);
          done += 1;
          console.error(
            `[${done}/${total}] round ${round + 1} C=${cell.concurrency} ${payloadLabel(cell.payloadBytes)} ${each.id}: ${result.callsPerSecond.toFixed(0)} calls/s p50 ${result.p50Ms.toFixed(2)} ms${result.frontCpuMsPerCall === null ? '' : ` front CPU ${result.frontCpuMsPerCall.toFixed(3)} ms/call`}${result.errors > 0 ? ` errors ${result.errors} (${result.firstError ?? ''})` : ''}`,
          );
        }
      }
      await writeResults(startedAt, [...measured.values()], ROUNDS);
    }
  } finally {
    await fronts.stop();
  }
  let frames: Frame[] = [];
  let places: Frame[] = [];
  let profileFile: string | undefined;
  if (PROFILE) {
    profileFile = await newestProfile(startedAt);
    if (profileFile !== undefined) {
      frames = await topFrames(profileFile, windows, 25);
      places = await topFrames(profileFile, windows, 25, placeOf);
    }
  }
  const markdown = await writeResults(startedAt, [...measured.values()], ROUNDS, {
    file: profileFile,
    frames,
    places,
  });
  console.log(`\n${markdown}`);
}

/**
 * Writes latest.json and latest.md from the rounds done so far (after every round, so a run
 * stopped early still leaves its complete rounds) and returns the markdown.
 */
async function writeResults(
  startedAt: number,
  measured: readonly Measured[],
  roundsDone: number,
  profile: { file?: string | undefined; frames: readonly Frame[]; places?: readonly Frame[] } = {
    frames: [],
  },
): Promise<string> {
  const rows = summarize(measured);
  const meta = {
    date: new Date(startedAt).toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadAverageAtEnd: os.loadavg().map((l) => Number(l.toFixed(2))),
    phaseMs: PHASE_MS,
    warmUpMs: WARMUP_MS,
    prewarmMs: PREWARM_MS,
    rounds: roundsDone,
    roundsPlanned: ROUNDS,
    concurrency: CONCURRENCY,
    payloadBytes: PAYLOADS,
    method:
      'closed loop, C workers per phase over one session (MCP) or C parallel fetches (REST); median of rounds; ratios per round to direct HTTP in the same cell, then the median; CPU from /proc/<pid>/stat of the front process alone, upstream processes separately',
  };
  const heading = `Echo benchmark ${meta.date}: ${roundsDone} of ${ROUNDS} round(s) of ${PHASE_MS} ms phases (${PREWARM_MS} ms warm-up per path before the first cell, ${WARMUP_MS} ms per path and cell), node ${meta.node}, ${meta.cpus} CPUs, load average at the end ${meta.loadAverageAtEnd.join(' ')}`;
  let markdown = `${heading}\n\n${markdownTable(rows)}\n`;
  if (profile.frames.length > 0)
    markdown += `\nTop ${profile.frames.length} self-time frames of the hub during the ${PROFILED_PATH} phases (${path.basename(profile.file ?? '')}):\n\n${framesTable(profile.frames)}\n`;
  if (profile.places !== undefined && profile.places.length > 0)
    markdown += `\nThe same time by where the code lives (a package, a Node module, a folder of the hub's build, or V8's own):\n\n${framesTable(profile.places)}\n`;
  await writeFile(path.join(OUT, 'latest.json'), `${JSON.stringify({ meta, rows, profile }, null, 2)}\n`);
  await writeFile(path.join(OUT, 'latest.md'), markdown);
  return markdown;
}

await main();
