// @ts-check
/**
 * `node --import bench/allocation-probe.js …` preload for the large-results benchmark: V8's sampling
 * heap profiler runs from start, keeping the samples of objects already collected too, so its total
 * is what the process has allocated in the JS heap so far. On SIGUSR2 the total (bytes) is appended
 * as one line to the file named by BENCH_ALLOCATION_FILE. Bytes outside the heap (Buffers' memory,
 * native write buffers) are not in it.
 */
import { appendFileSync } from 'node:fs';
import inspector from 'node:inspector';
import process from 'node:process';

const file = process.env.BENCH_ALLOCATION_FILE;
if (file !== undefined) {
  const session = new inspector.Session();
  session.connect();
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  process.on('SIGUSR2', () => {
    session.post('HeapProfiler.getSamplingProfile', (error, result) => {
      if (error) return;
      const { samples } = /** @type {{ profile: { samples: { size: number }[] } }} */ (
        /** @type {unknown} */ (result)
      ).profile;
      const total = samples.reduce((sum, sample) => sum + sample.size, 0);
      appendFileSync(file, `${total}\n`);
    });
  });
}
