/**
 * Linux /proc readings for the benchmark: a process's own CPU time, write system calls and resident
 * memory, and its descendants. CPU is user + system of that process only (its children's time is
 * not included).
 */
import { readdir, readFile } from 'node:fs/promises';

/** Linux clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat times. */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
async function statFields(pid: number): Promise<string[] | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // the process is gone
  }
}

/** user + system CPU of one process so far, in ms (0 once it is gone). */
export async function cpuMs(pid: number): Promise<number> {
  const fields = await statFields(pid);
  if (fields === null) return 0;
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** Summed CPU of several processes, in ms. */
export async function cpuOfAll(pids: readonly number[]): Promise<number> {
  const each = await Promise.all(pids.map(cpuMs));
  return each.reduce((sum, value) => sum + value, 0);
}

/**
 * Write system calls the process has made so far (`syscw` of /proc/<pid>/io: write, writev and the
 * like, to sockets and pipes alike); 0 once it is gone.
 */
export async function writeCalls(pid: number): Promise<number> {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    return Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Resident set size in MiB (0 once the process is gone). */
export async function rssMiB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Every live descendant of `pid` (children, their children, …), by parent pid in /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(Number(entry));
    if (fields === null) continue;
    const parent = Number(fields[1]);
    parents.set(parent, [...(parents.get(parent) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const child of parents.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}
