import { describe, expect, it } from 'vitest';
import type { ConnectionPool } from '../connections/index.js';
import { createLogger } from '../observability/index.js';
import type { ToolCache } from '../tools/index.js';
import { watchToolChanges } from './tool-refresh.js';

/** A pool that only announces changes, and a cache whose refreshes wait until released. */
function harness(minIntervalMs: number) {
  let notify: (key: string) => void = () => undefined;
  const pool = {
    peek: () => ({}),
    onToolsChanged: (listener: (key: string) => void) => {
      notify = listener;
      return () => {
        notify = () => undefined;
      };
    },
  } as unknown as ConnectionPool;
  const started: string[] = [];
  const releases: (() => void)[] = [];
  const tools = {
    refresh: (key: string) => {
      started.push(key);
      return new Promise<void>((resolve) => releases.push(resolve));
    },
    invalidate: () => Promise.resolve(),
  } as unknown as ToolCache;
  const stop = watchToolChanges({ pool, tools, logger: createLogger({ level: 'silent' }), minIntervalMs });
  const releaseAll = (): void => {
    for (const release of releases.splice(0)) release();
  };
  return { notify: (key: string) => notify(key), started, releaseAll, stop };
}

describe('watchToolChanges', () => {
  it('runs one refresh at a time per key and folds the notifications meanwhile into one more', async () => {
    const h = harness(10);
    h.notify('a');
    for (let i = 0; i < 50; i += 1) h.notify('a');
    h.notify('b');
    expect(h.started).toEqual(['a', 'b']);
    h.releaseAll();
    // The notifications during the first refresh of `a` are owed one refresh, after the interval.
    await expect.poll(() => h.started).toEqual(['a', 'b', 'a']);
    h.releaseAll();
    h.stop();
  });

  it('the last notification is always followed by a refresh', async () => {
    const h = harness(20);
    h.notify('a');
    h.releaseAll();
    await expect.poll(() => h.started.length).toBe(1);
    // Inside the interval: waits, then runs.
    h.notify('a');
    h.notify('a');
    await expect.poll(() => h.started).toEqual(['a', 'a']);
    h.releaseAll();
    h.stop();
  });

  it('stop cancels a waiting refresh', async () => {
    const h = harness(60_000);
    h.notify('a');
    h.releaseAll();
    await expect.poll(() => h.started.length).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    h.notify('a');
    h.stop();
    expect(h.started).toEqual(['a']);
  });
});
