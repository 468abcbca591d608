import { readdirSync, readFileSync } from 'node:fs';

/** Parent pid, process group and state letter of a process, from /proc; null once it is gone. */
export function procStat(pid: number): { ppid: number; pgid: number; state: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: read after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', ppid: Number(fields[1]), pgid: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** The process exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Running processes whose parent is `parent`, with their command lines. */
export function childrenOf(parent: number): Array<{ pid: number; pgid: number; command: string }> {
  const found: Array<{ pid: number; pgid: number; command: string }> = [];
  for (const pid of allPids()) {
    const stat = procStat(pid);
    if (stat === null || stat.ppid !== parent || stat.state === 'Z') continue;
    found.push({ pid, pgid: stat.pgid, command: commandLine(pid) });
  }
  return found;
}

/** Running members of the process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const stat = procStat(pid);
    return stat !== null && stat.pgid === pgid && stat.state !== 'Z';
  });
}
