import type { McpSettings, ServerConfig } from '../config/index.js';
import { hasPlaceholder, type PlaceholderContext } from './placeholders.js';
import { resolveServerOnce, type ResolvedServer } from './resolve-spec.js';

/** Callers remembered per (config, settings, variables); past this the oldest goes first. */
const MAX_CALLERS = 1_000;

/** Stands for "no user variables" (any empty record), so `{}` literals share one answer. */
const NO_VARS = Object.freeze({});

/** By config, then settings, then the user's variables (their object, frozen while unchanged). */
type Memo = WeakMap<ServerConfig, WeakMap<McpSettings, WeakMap<object, Map<string, ResolvedServer>>>>;
const memo: Memo = new WeakMap();
const callerFree = new WeakMap<ServerConfig, boolean>();

/** Freezes the answer and what it holds (spec, args, env, headers, options), so sharing it is safe. */
function frozen(resolved: ResolvedServer): ResolvedServer {
  const spec = resolved.spec;
  if (spec.transport === 'stdio') {
    Object.freeze(spec.args);
    Object.freeze(spec.env);
  } else if (spec.transport !== 'websocket') {
    Object.freeze(spec.headers);
  }
  Object.freeze(spec);
  Object.freeze(resolved.options);
  return Object.freeze(resolved);
}

function isEmpty(record: object): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return false;
  return true;
}

/** True when no placeholder and no user API key appears: every caller gets the same spec. */
function sameForEveryone(server: ServerConfig): boolean {
  const known = callerFree.get(server);
  if (known !== undefined) return known;
  const texts =
    server.type === 'stdio'
      ? [server.command, ...server.args, ...Object.values(server.env ?? {})]
      : [server.url, ...(server.type === 'websocket' ? [] : Object.values(server.headers ?? {}))];
  const free = server.apiKey?.source !== 'user' && !texts.some(hasPlaceholder);
  callerFree.set(server, free);
  return free;
}

/** The map of callers for the version, or undefined when nothing here may be remembered. */
function callersOf(
  server: ServerConfig,
  settings: McpSettings,
  vars: object,
): Map<string, ResolvedServer> | undefined {
  // Only what cannot change under a remembered answer: a frozen config and settings (the admin's
  // file) and a frozen record of variables (the variable store's, replaced on every change).
  if (!Object.isFrozen(server) || !Object.isFrozen(settings) || !Object.isFrozen(vars)) return undefined;
  let bySettings = memo.get(server);
  if (bySettings === undefined) memo.set(server, (bySettings = new WeakMap()));
  let byVars = bySettings.get(settings);
  if (byVars === undefined) bySettings.set(settings, (byVars = new WeakMap()));
  let callers = byVars.get(vars);
  if (callers === undefined) byVars.set(vars, (callers = new Map<string, ResolvedServer>()));
  return callers;
}

/**
 * {@link resolveServerOnce}, remembered per server version (its frozen config object), hub
 * settings, the caller's variables (a new record after every change, so a change resolves anew)
 * and identity. A config without placeholders resolves once for everybody. The answer is frozen
 * and shared: never change it. A config or record that is not frozen is resolved every time.
 */
export function resolveServer(
  server: ServerConfig,
  ctx: PlaceholderContext,
  settings: McpSettings,
): ResolvedServer {
  const shared = sameForEveryone(server);
  const vars = shared || isEmpty(ctx.userVars) ? NO_VARS : ctx.userVars;
  const callers = callersOf(server, settings, vars);
  if (callers === undefined) return resolveServerOnce(server, ctx, settings);
  const who = shared ? '' : `${ctx.userId}\u0000${ctx.email}`;
  const known = callers.get(who);
  if (known !== undefined) return known;
  const resolved = frozen(resolveServerOnce(server, ctx, settings));
  if (callers.size >= MAX_CALLERS) callers.delete(callers.keys().next().value ?? '');
  callers.set(who, resolved);
  return resolved;
}
