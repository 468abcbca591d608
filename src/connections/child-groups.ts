import { spawn as nodeSpawn } from 'node:child_process';
import { GroupReaper } from './group-reaper.js';
import type { SpawnFunction } from './stdio-transport.js';

/**
 * The process groups of this process's stdio children that may still have members. Each child
 * is spawned detached, so it leads its own group; the group is tracked from spawn until the
 * child's pipes have closed (the transport has seen it exit and signalled its group). On its way
 * out by any path (a shutdown past its deadline, an uncaught error) the process kills every group
 * still tracked, so no child or grandchild outlives the hub under PID 1. A way out that runs no
 * handler (SIGKILL, the OOM killer) is covered by the reaper's watchdog process, which is told
 * every tracked group and kills those left once the hub is gone.
 */
const groups = new Set<number>();
const reaper = new GroupReaper();

/**
 * A spawn that tracks the group of each detached child it starts (the stdio transport spawns
 * detached; a child that is not leads no group and is not tracked).
 */
export function groupTrackingSpawn(base: SpawnFunction = nodeSpawn): SpawnFunction {
  return (command, args, options) => {
    const child = base(command, args, options);
    const pid = child.pid;
    if (pid !== undefined && options.detached === true) {
      groups.add(pid);
      reaper.track(pid);
      child.once('close', () => {
        groups.delete(pid);
        reaper.untrack(pid);
      });
    }
    return child;
  };
}

/** The groups still tracked (for tests and diagnostics). */
export function trackedChildGroups(): number[] {
  return [...groups];
}

/**
 * SIGKILLs every tracked group at once, synchronously, so it can run in a `process.on('exit')`
 * handler; returns how many groups were signalled. Groups already gone are skipped.
 */
export function killChildGroups(): number {
  let signalled = 0;
  for (const pgid of groups) {
    reaper.untrack(pgid);
    try {
      process.kill(-pgid, 'SIGKILL');
      signalled += 1;
    } catch {
      // ESRCH: the whole group is gone already
    }
  }
  groups.clear();
  return signalled;
}
