// @ts-check
/**
 * `node --import <this file> …` preload for test peers that listen on every interface and offer
 * no host option (server-everything, supergateway, …).
 *
 * - Every TCP `listen` of `net.Server` (so also `http.Server` and Express' `app.listen`) is bound
 *   to 127.0.0.1, whatever host the program asked for. Unix sockets and inherited handles are
 *   left alone. Tests must never open a port beyond loopback.
 * - Once a TCP server is listening, one line `SWITCHBOARD_PEER_LISTENING <port>` goes to stderr,
 *   so a parent that started the program with `PORT=0` learns the port the kernel picked (the
 *   peers themselves print the port they were given, that is `0`).
 * - With `SWITCHBOARD_PEER_PARENT_PID` set, the process exits as soon as that parent is gone, so
 *   a test runner killed mid-run leaves no orphan peers behind.
 */
import net from 'node:net';
import process from 'node:process';
import { setInterval } from 'node:timers';

const LOOPBACK = '127.0.0.1';
// eslint-disable-next-line @typescript-eslint/unbound-method -- re-applied below with .apply on the right server
const originalListen = net.Server.prototype.listen;

/**
 * @param {unknown} value
 * @returns {value is number | string}
 */
function isPort(value) {
  if (typeof value === 'number') return true;
  // Node treats a numeric string as a port and any other string as a pipe path.
  return typeof value === 'string' && value.trim() !== '' && Number.isInteger(Number(value));
}

/**
 * Rewrites the arguments of `server.listen(...)` so a TCP listen binds to loopback.
 * @param {unknown[]} args
 * @returns {unknown[]}
 */
function loopbackArgs(args) {
  const callback = typeof args[args.length - 1] === 'function' ? args[args.length - 1] : undefined;
  const rest = callback === undefined ? args : args.slice(0, -1);
  const first = rest[0];
  /** @type {net.ListenOptions | undefined} */
  let options;
  if (first === undefined || first === null) {
    options = { port: 0 };
  } else if (isPort(first)) {
    // listen(port[, host][, backlog]): a number in position 2 is a backlog, a string a host.
    const backlog = typeof rest[1] === 'number' ? rest[1] : typeof rest[2] === 'number' ? rest[2] : undefined;
    options = { port: Number(first), ...(backlog === undefined ? {} : { backlog }) };
  } else if (typeof first === 'object' && !('path' in first) && !('fd' in first) && !('_handle' in first)) {
    options = { .../** @type {net.ListenOptions} */ (first) };
  }
  if (options === undefined) return args; // a pipe path or an inherited handle: not TCP
  options.host = LOOPBACK;
  delete options.ipv6Only;
  return callback === undefined ? [options] : [options, callback];
}

/**
 * @this {net.Server}
 * @param {unknown[]} args
 */
function listenOnLoopback(...args) {
  const rewritten = loopbackArgs(args);
  this.once('listening', () => {
    const address = this.address();
    if (address !== null && typeof address === 'object') {
      process.stderr.write(`SWITCHBOARD_PEER_LISTENING ${address.port}\n`);
    }
  });
  return originalListen.apply(this, /** @type {Parameters<typeof originalListen>} */ (rewritten));
}

net.Server.prototype.listen = /** @type {typeof originalListen} */ (listenOnLoopback);

const parentPid = Number(process.env.SWITCHBOARD_PEER_PARENT_PID);
if (Number.isInteger(parentPid) && parentPid > 0) {
  // Reparenting (ppid changes) is the reliable sign; kill(pid, 0) covers a wrapper in between.
  const directChild = process.ppid === parentPid;
  const watchdog = setInterval(() => {
    let alive = true;
    try {
      process.kill(parentPid, 0);
    } catch {
      alive = false;
    }
    if (!alive || (directChild && process.ppid !== parentPid)) process.exit(0);
  }, 500);
  watchdog.unref();
}
