// @ts-check
/**
 * `node --expose-gc --import bench/gc-probe.js …` preload for the memory benchmark: on SIGUSR2 the
 * process collects garbage (twice, so weakly held and finalized objects go too) and appends one JSON
 * line of `process.memoryUsage()` to the file named by BENCH_GC_PROBE_FILE.
 */
import { appendFileSync } from 'node:fs';
import process from 'node:process';
import { setImmediate } from 'node:timers';

const file = process.env.BENCH_GC_PROBE_FILE;
const collect = /** @type {{ gc?: () => void }} */ (globalThis).gc;
if (file !== undefined && collect !== undefined) {
  process.on('SIGUSR2', () => {
    collect();
    setImmediate(() => {
      collect();
      appendFileSync(file, `${JSON.stringify(process.memoryUsage())}\n`);
    });
  });
}
