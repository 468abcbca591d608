import { spawn as nodeSpawn, type ChildProcess } from 'node:child_process';

/**
 * The watchdog's program, for `/bin/sh -c`. It keeps the list of process groups the hub tells it
 * on stdin (`+<pgid>` tracks one, `-<pgid>` forgets it) and, when stdin ends, SIGKILLs every
 * group still listed and exits. Stdin ends when the hub's end of the pipe closes, which the kernel
 * does however the hub dies: SIGKILL and the OOM killer included, where no exit handler runs.
 * It ignores the signals a terminal or service manager sends (it leaves on stdin EOF only, after
 * the hub) and lives in a session of its own, so a kill of the hub's process group spares it.
 * A shell, not a second Node process: a few hundred KiB instead of ~40 MiB per hub. (The rule
 * against shells concerns the stdio servers an admin configures; this program is the hub's own.)
 */
const WATCHDOG_SCRIPT = `
trap '' HUP INT TERM QUIT PIPE
g=' '
while IFS= read -r l; do
  case $l in
    +[0-9]*) g="$g\${l#+} " ;;
    -[0-9]*) p=\${l#-}; case $g in *" $p "*) g="\${g%% $p *} \${g#* $p }" ;; esac ;;
  esac
done
for p in $g; do kill -s KILL -- "-$p" 2>/dev/null; done
`;

/** How the watchdog is started (a test may watch or replace it). */
export type WatchdogSpawn = () => ChildProcess;

/** Starts the `/bin/sh` watchdog, detached (a session of its own), with a pipe for stdin. */
export const spawnWatchdog: WatchdogSpawn = () =>
  nodeSpawn('/bin/sh', ['-c', WATCHDOG_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });

/** A watchdog that died sooner than this after its start is not restarted at once (no spawn loop). */
const RESTART_AFTER_MS = 1_000;

/**
 * Kills the hub's stdio children's process groups when the hub dies without running its exit
 * handler (SIGKILL, OOM): a `/bin/sh` watchdog outside the hub, told each group as it is tracked,
 * kills the groups still listed once the hub's end of its stdin pipe closes. Linux and other
 * POSIX systems; elsewhere it does nothing.
 *
 * A group is written to the watchdog in the same synchronous step as the spawn that made it (a
 * pipe write of a few bytes completes at once), so the hub would have to die between two lines of
 * JavaScript to leave a child unknown to it. A watchdog that dies is started again and told every
 * group still tracked.
 */
export class GroupReaper {
  /** The groups the watchdog must kill if the hub dies now. */
  private readonly groups = new Set<number>();
  private watchdog: ChildProcess | undefined;
  private startedAt = 0;

  constructor(private readonly spawn: WatchdogSpawn = spawnWatchdog) {}

  /** The watchdog's pid while it runs (tests). */
  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  track(pgid: number): void {
    this.groups.add(pgid);
    if (this.watchdog === undefined) this.start();
    else this.tell(`+${pgid}\n`);
  }

  untrack(pgid: number): void {
    if (this.groups.delete(pgid)) this.tell(`-${pgid}\n`);
  }

  private start(): void {
    if (process.platform === 'win32') return;
    let watchdog: ChildProcess;
    try {
      watchdog = this.spawn();
    } catch {
      return; // no /bin/sh: the exit handler is all there is
    }
    this.watchdog = watchdog;
    this.startedAt = Date.now();
    // Neither the process nor its pipe keeps the hub's event loop alive.
    watchdog.unref();
    (watchdog.stdin as { unref?: () => void } | null)?.unref?.();
    watchdog.stdin?.on('error', () => undefined); // EPIPE once it is gone; 'exit' restarts it
    watchdog.on('error', () => undefined);
    watchdog.once('exit', () => this.onWatchdogExit(watchdog));
    this.tell([...this.groups].map((pgid) => `+${pgid}\n`).join(''));
  }

  private onWatchdogExit(watchdog: ChildProcess): void {
    if (this.watchdog !== watchdog) return;
    this.watchdog = undefined;
    if (this.groups.size > 0 && Date.now() - this.startedAt >= RESTART_AFTER_MS) this.start();
  }

  private tell(lines: string): void {
    const stdin = this.watchdog?.stdin;
    if (lines !== '' && stdin?.writable === true) stdin.write(lines);
  }
}
