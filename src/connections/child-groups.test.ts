import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { groupTrackingSpawn, killChildGroups, trackedChildGroups } from './child-groups.js';
import { GroupReaper, spawnWatchdog } from './group-reaper.js';

const HOST = fileURLToPath(new URL('./test-child-groups-host.ts', import.meta.url));

/** A process exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The process ignores SIGTERM (bit 15 of SigIgn in /proc/<pid>/status). */
function ignoresSigterm(pid: number): boolean {
  const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${mask}`) & (1n << 14n)) !== 0n;
}

/** Ignores SIGTERM and stdin EOF, and starts a grandchild in its group that does the same. */
const STUBBORN = `
  process.on('SIGTERM', () => {});
  const c = require('node:child_process').spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1e9)"], { stdio: 'ignore' });
  process.stdout.write(String(c.pid) + '\\n');
  setInterval(() => {}, 1e9);
`;

describe.runIf(process.platform === 'linux')('child process groups (issue 14, finding 3)', () => {
  const started: number[] = [];
  afterEach(() => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  it('tracks a detached child until its pipes close; killChildGroups SIGKILLs the whole group at once', async () => {
    const child = groupTrackingSpawn()(process.execPath, ['-e', STUBBORN], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const pid = child.pid ?? 0;
    started.push(pid);
    const grandchild = await new Promise<number>((resolve) =>
      child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim()))),
    );
    expect(trackedChildGroups()).toContain(pid);
    child.kill('SIGTERM'); // ignored
    expect(isAlive(pid)).toBe(true);

    const closed = new Promise((resolve) => child.once('close', resolve));
    expect(killChildGroups()).toBe(1);
    await closed;
    expect(isAlive(pid)).toBe(false);
    await expect.poll(() => isAlive(grandchild)).toBe(false);
    expect(trackedChildGroups()).not.toContain(pid);
  });

  it('a child that is not detached leads no group and is not tracked', async () => {
    const child = groupTrackingSpawn(spawn)(process.execPath, ['-e', 'setTimeout(() => {}, 50)'], {
      stdio: 'ignore',
    });
    expect(trackedChildGroups()).not.toContain(child.pid);
    await new Promise((resolve) => child.once('close', resolve));
  });

  it('a process killed with SIGKILL (no exit handler runs) leaves no child behind: its watchdog kills the groups', async () => {
    // Before the watchdog, both the stubborn child and its grandchild lived on under PID 1.
    const host = spawn(process.execPath, ['--import', 'tsx', HOST, STUBBORN], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = await new Promise<string>((resolve) =>
      host.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').trim())),
    );
    const [child, grandchild] = line.split(' ').map(Number) as [number, number];
    started.push(child);
    expect(isAlive(child) && isAlive(grandchild)).toBe(true);

    const exited = once(host, 'exit');
    host.kill('SIGKILL');
    await exited;
    await expect.poll(() => [isAlive(child), isAlive(grandchild)]).toEqual([false, false]);
  });

  it('the watchdog kills only the groups still tracked when its stdin ends, and ignores SIGTERM', async () => {
    const sleeper = (): ChildProcess => {
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], {
        detached: true,
        stdio: 'ignore',
      });
      started.push(child.pid ?? 0);
      return child;
    };
    const [forgotten, tracked] = [sleeper(), sleeper()];
    let watchdog: ChildProcess | undefined;
    const reaper = new GroupReaper(() => (watchdog = spawnWatchdog()));
    reaper.track(forgotten.pid ?? 0);
    reaper.track(tracked.pid ?? 0);
    reaper.untrack(forgotten.pid ?? 0);
    expect(watchdog?.pid).toBe(reaper.watchdogPid);

    // Once its trap is set, a service manager's stop signal does not end it.
    await expect.poll(() => ignoresSigterm(watchdog?.pid ?? 0)).toBe(true);
    watchdog?.kill('SIGTERM');
    const exited = once(watchdog!, 'exit');
    watchdog?.stdin?.end(); // what the kernel does when the watching process dies
    await exited;
    await expect.poll(() => isAlive(tracked.pid ?? 0)).toBe(false);
    expect(isAlive(forgotten.pid ?? 0)).toBe(true);
  });
});
