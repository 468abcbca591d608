import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { groupTrackingSpawn, killChildGroups, trackedChildGroups } from './child-groups.js';

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
});
