import { readdir } from 'node:fs/promises';
import type { HubProcess } from './hub-process.js';
import { descendants } from './measure.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Samples in a row with the same fd and child counts that count as settled. */
const STEADY_SAMPLES = 3;
const SAMPLE_EVERY_MS = 2_000;
const SETTLE_LIMIT_MS = 60_000;

/**
 * Waits until the hub is at rest after traffic: first the idle timeout and a little more (so every
 * connection unused since has been closed by its idle timer), then until its fd and child counts
 * stay the same over a few samples (closing children and sockets takes a moment), a minute at most.
 */
export async function settle(hub: HubProcess, idleTimeoutMs: number): Promise<void> {
  await pause(idleTimeoutMs + 5_000);
  const deadline = Date.now() + SETTLE_LIMIT_MS;
  let last = '';
  let same = 0;
  while (same < STEADY_SAMPLES && Date.now() < deadline) {
    const sample = `${(await readdir(`/proc/${hub.pid}/fd`)).length}/${(await descendants(hub.pid)).length}`;
    same = sample === last ? same + 1 : 1;
    last = sample;
    if (same < STEADY_SAMPLES) await pause(SAMPLE_EVERY_MS);
  }
}
