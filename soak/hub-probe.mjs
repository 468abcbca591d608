// @ts-check
/**
 * Preloaded into the soak's hub process only (`node --expose-gc --import …/hub-probe.mjs
 * dist/main.js serve`), so the hub itself carries no diagnostic hook. On the message `probe` over
 * the IPC channel the soak opened, it collects garbage and answers with the heap used after it and
 * the resources keeping the event loop alive, counted by type (timers are `Timeout`).
 */
import process from 'node:process';

const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);

process.on('message', (message) => {
  if (message !== 'probe' || gc === undefined || process.send === undefined) return;
  // Twice: objects freed by the first collection's finalizers go in the second.
  gc();
  gc();
  /** @type {Record<string, number>} */
  const resources = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  process.send({ heapUsedBytes: process.memoryUsage().heapUsed, resources });
});
// The channel must not keep the hub alive by itself, so shutdown stays as without the probe.
process.channel?.unref();
