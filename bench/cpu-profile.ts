/**
 * A small reader of V8 `.cpuprofile` files (what `node --cpu-prof` writes): self time per frame
 * (function, file, line), optionally only within time windows given on the same monotonic clock as
 * `process.hrtime` (V8 and libuv both read CLOCK_MONOTONIC on Linux, so a window the benchmark
 * records selects the samples of its phases). Standalone: `tsx bench/cpu-profile.ts <file> [top]`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A time window in microseconds of the monotonic clock. */
export interface Window {
  readonly startUs: number;
  readonly endUs: number;
}

/** One frame's self time. */
export interface Frame {
  readonly frame: string;
  readonly selfMs: number;
  /** Share of the non-idle time in the windows, %. */
  readonly percent: number;
}

/** Now on the monotonic clock, µs (comparable with a profile's sample times). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url === '' ? '' : ` ${shortUrl(url)}:${lineNumber + 1}`;
  return `${functionName === '' ? '(anonymous)' : functionName}${file}`;
}

function shortUrl(url: string): string {
  const plain = url.replace(/^file:\/\//, '');
  const modules = plain.lastIndexOf('node_modules/');
  if (modules >= 0) return plain.slice(modules + 'node_modules/'.length);
  return path.relative(process.cwd(), plain);
}

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);

/**
 * Where a frame's code lives: a package (`fastify`, `@modelcontextprotocol/sdk`), a Node module
 * (`node:_http_server`), a folder of the hub's build (`dist/gateway`), or the V8/native name
 * (`(garbage collector)`, `writev`).
 */
export function placeOf(node: ProfileNode): string {
  const url = node.callFrame.url.replace(/^file:\/\//, '');
  if (url === '') return node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + 'node_modules/'.length).split('/');
    return (parts[0]?.startsWith('@') === true ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
  }
  const relative = path.relative(process.cwd(), url);
  const parts = relative.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') : relative;
}

/**
 * Self time in the windows (every sample when none is given), summed by `keyOf` (default: the
 * frame), largest first.
 */
export async function topFrames(
  file: string,
  windows: readonly Window[] = [],
  top = 25,
  keyOf: (node: ProfileNode) => string = frameName,
): Promise<Frame[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<string, number>();
  const inside = (t: number): boolean =>
    windows.length === 0 || windows.some((w) => t >= w.startUs && t <= w.endUs);
  let t = profile.startTime;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (!inside(t)) return;
    // A sample stands for the time until the next one.
    const weight = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    const idle =
      IDLE.has(node.callFrame.functionName) && node.callFrame.functionName !== '(garbage collector)';
    if (idle) return;
    const name = keyOf(node);
    selfUs.set(name, (selfUs.get(name) ?? 0) + weight);
    busyUs += weight;
  });
  return [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, selfMs: us / 1000, percent: busyUs === 0 ? 0 : (us / busyUs) * 100 }));
}

export function framesTable(frames: readonly Frame[]): string {
  const lines = ['| # | self ms | % of busy | frame |', '|---|---|---|---|'];
  frames.forEach((f, i) =>
    lines.push(`| ${i + 1} | ${f.selfMs.toFixed(1)} | ${f.percent.toFixed(1)} | \`${f.frame}\` |`),
  );
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.filename === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: tsx bench/cpu-profile.ts <file.cpuprofile> [top] [--by-place]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const keyOf = process.argv.includes('--by-place') ? placeOf : frameName;
  console.log(framesTable(await topFrames(file, [], top, keyOf)));
}
