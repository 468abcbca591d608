// @ts-check
/**
 * `node --import ./conformance/node20-preload.mjs <conformance CLI> …`: what the conformance
 * runner needs on this machine, and nothing the client under test sees (it is a separate process).
 *
 * 1. Node 20 has no `fs.globSync`, which the CLI's bundle imports: a resolve hook gives that bundle
 *    an `fs` with one (`fs-hooks.mjs`). On Node 22 and later nothing is registered.
 * 2. The scenario servers call `listen(0)`, i.e. every interface; test peers here stay on loopback
 *    (tests may only reach loopback), so such a listen is bound to 127.0.0.1 instead. The scenarios read
 *    `server.address().port` right after `listen()` returns, and a public `listen` with a host
 *    binds only after a lookup tick; `Server#_listen2` (Node's legacy alias of its bind step, what
 *    `listen` calls once the host is known) binds at once. Where it is missing the listen is left
 *    alone, with a warning. The scenarios' URLs say `localhost`, which is 127.0.0.1 on this machine.
 */
import fs from 'node:fs';
import { register } from 'node:module';
import net from 'node:net';

if (!('globSync' in fs)) register('./fs-hooks.mjs', import.meta.url);

const LOOPBACK = '127.0.0.1';
const BACKLOG = 511; // Node's default
// eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .apply on the server
const listen = net.Server.prototype.listen;

/**
 * The port of `listen(port[, cb])` or `listen({ port }[, cb])` without a host (a TCP listen on every
 * interface); undefined for pipes, handles and listens that name their host.
 * @param {unknown[]} args
 * @returns {number | undefined}
 */
function everyInterfacePort(args) {
  const [first, second] = args;
  if (args.length > 2 || (second !== undefined && typeof second !== 'function')) return undefined;
  if (typeof first === 'number') return first;
  if (typeof first !== 'object' || first === null || 'host' in first || 'path' in first) return undefined;
  return 'port' in first && typeof first.port === 'number' ? first.port : undefined;
}

/** @typedef {net.Server & { _listen2?: (address: string, port: number, family: 4, backlog: number) => void }} LegacyServer */

net.Server.prototype.listen = /** @type {typeof listen} */ (
  /**
   * @this {LegacyServer}
   * @param {unknown[]} args
   */
  function listenOnLoopback(...args) {
    const port = everyInterfacePort(args);
    if (port === undefined) return listen.apply(this, /** @type {Parameters<typeof listen>} */ (args));
    if (typeof this._listen2 !== 'function') {
      process.emitWarning('conformance preload: cannot bind synchronously; listening on every interface');
      return listen.apply(this, /** @type {Parameters<typeof listen>} */ (args));
    }
    const callback = args.at(-1);
    if (typeof callback === 'function') this.once('listening', /** @type {() => void} */ (callback));
    this._listen2(LOOPBACK, port, 4, BACKLOG);
    return this;
  }
);
