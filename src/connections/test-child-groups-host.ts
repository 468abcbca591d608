/**
 * A stand-in for the hub in the child-groups tests: spawns one detached child running the script
 * in argv[2] through `groupTrackingSpawn` (as the stdio transport does), prints
 * `<child pid> <first line of the child's stdout>` and then waits to be killed.
 * Run it with `node --import tsx`.
 */
import { groupTrackingSpawn } from './child-groups.js';

const child = groupTrackingSpawn()(process.execPath, ['-e', process.argv[2] ?? ''], {
  detached: true,
  stdio: ['pipe', 'pipe', 'ignore'],
});
child.stdout?.once('data', (chunk: Buffer) => {
  process.stdout.write(`${child.pid} ${chunk.toString('utf8').trim()}\n`);
});
setInterval(() => undefined, 1e9);
