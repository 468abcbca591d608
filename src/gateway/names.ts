import { createHash } from 'node:crypto';
import { checkServerName } from '../config/index.js';

/** MCP tool names: at most 64 characters of letters, digits, `_`, `-`, `.` for the widest client support. */
const MAX_NAME = 64;
const SAFE = /[^A-Za-z0-9_.-]/g;
/**
 * Hex digits of the hash suffix: 80 bits, so finding a tool name whose suffixed name equals a
 * chosen one takes about 2^80 hashes, far beyond anyone's reach (a 32-bit suffix fell in minutes).
 */
const HASH_LENGTH = 20;
/** How often one item is renamed before it is left out of the catalog (only ever reached on purpose). */
const MAX_ATTEMPTS = 4;

/**
 * The hash of one (server, name) pair. The pair is encoded as a JSON array, which tells `col` +
 * `b__echo` from `col__b` + `echo`; `<server>__<name>` does not, as server names may hold `__`.
 */
function digest(serverName: string, name: string, attempt: number): string {
  return createHash('sha256')
    .update(JSON.stringify([serverName, name, attempt]))
    .digest('hex')
    .slice(0, HASH_LENGTH);
}

/** One candidate name of an item; `hashed` when it ends in a hash of the item itself. */
interface Candidate {
  name: string;
  hashed: boolean;
}

function candidate(serverName: string, name: string, attempt: number): Candidate {
  const full = `${serverName}__${name}`;
  const clean = full.replace(SAFE, '_');
  if (attempt === 0 && clean === full && full.length <= MAX_NAME) return { name: full, hashed: false };
  const hash = digest(serverName, name, attempt);
  return { name: `${clean.slice(0, MAX_NAME - HASH_LENGTH - 1)}_${hash}`, hashed: true };
}

/**
 * The name a downstream client would see for an upstream tool or prompt, on its own: `<server>__<name>`;
 * a name that is too long or has characters clients refuse is shortened or cleaned and given a hash
 * suffix of the pair (IV-09, IV-10). It depends only on the server and tool names. Two pairs can still
 * give the same name (`col` + `b__echo` and `col__b` + `echo`): a catalog is named with
 * {@link assignExposedNames}, which settles that.
 */
export function exposedName(serverName: string, name: string): string {
  return candidate(serverName, name, 0).name;
}

/**
 * Whose an item is, from the caller's side: `own` for the admin's YAML servers and the caller's own
 * servers, `shared` for servers other users shared with the caller. An `own` item keeps its name
 * against a `shared` one, so another user can never take (or move) the name of the caller's tools.
 */
export type NameTrust = 'own' | 'shared';

/** An upstream tool or prompt to name: its server, its own name, and whose it is. */
export interface NamingItem {
  serverName: string;
  name: string;
  trust: NameTrust;
}

/** The outcome of {@link assignExposedNames}. */
export interface NamedCatalog<T extends NamingItem> {
  /** Exposed name → item; one name per item, never two items under one name. */
  named: Map<string, T>;
  /** Items that could not be given a name of their own (only crafted names get here). */
  dropped: T[];
}

/** Lower wins a contested name: trust first, then a hashed name over a plain one that equals it. */
function precedence(item: NamingItem, current: Candidate): number {
  return (item.trust === 'own' ? 0 : 2) + (current.hashed ? 0 : 1);
}

/**
 * Names every item of one caller's catalog, injectively, and the same way whatever order the items
 * come in. An item takes its {@link exposedName} unless another item wants the same name; then the
 * one with the strictly best {@link precedence} keeps it and every other moves to a name suffixed
 * with an 80-bit hash of its own pair (all of them move on a tie, so nobody wins a name by
 * arriving first or by choosing a server name that sorts first). A plain name crafted to equal
 * another item's hashed name loses to it, and `shared` never displaces `own`. Items repeated with
 * the same server and name are kept once.
 */
export function assignExposedNames<T extends NamingItem>(items: readonly T[]): NamedCatalog<T> {
  const seen = new Set<string>();
  let live: Array<{ item: T; attempt: number; current: Candidate }> = [];
  for (const item of items) {
    const key = JSON.stringify([item.serverName, item.name]);
    if (seen.has(key)) continue;
    seen.add(key);
    live.push({ item, attempt: 0, current: candidate(item.serverName, item.name, 0) });
  }
  const dropped: T[] = [];
  for (;;) {
    const byName = new Map<string, typeof live>();
    for (const entry of live) {
      const group = byName.get(entry.current.name);
      if (group) group.push(entry);
      else byName.set(entry.current.name, [entry]);
    }
    const movers = new Set<(typeof live)[number]>();
    for (const group of byName.values()) {
      if (group.length < 2) continue;
      const best = Math.min(...group.map((e) => precedence(e.item, e.current)));
      const winners = group.filter((e) => precedence(e.item, e.current) === best);
      for (const entry of group) if (winners.length > 1 || entry !== winners[0]) movers.add(entry);
    }
    if (movers.size === 0) break;
    for (const entry of movers) {
      entry.attempt += 1;
      if (entry.attempt > MAX_ATTEMPTS) dropped.push(entry.item);
      else entry.current = candidate(entry.item.serverName, entry.item.name, entry.attempt);
    }
    live = live.filter((e) => e.attempt <= MAX_ATTEMPTS);
  }
  return { named: new Map(live.map((e) => [e.current.name, e.item])), dropped };
}

/** The scheme of exposed resource URIs and URI templates. */
const URI_PREFIX = 'switchboard://';

/**
 * A server's resource URI or URI template as a client of the aggregated endpoint sees it:
 * `switchboard://<server>/<the upstream's own URI or template, verbatim>`. The prefix is all literal
 * characters, so expanding an exposed template (RFC 6570 §3.1: literals are copied, each expression
 * expands on its own) gives the prefix followed by the upstream's own expansion, which
 * {@link parseExposedUri} takes apart again. Percent-encoding the upstream part would break that.
 */
export function exposedUri(serverName: string, uri: string): string {
  return `${URI_PREFIX}${serverName}/${uri}`;
}

/**
 * The server and the upstream's own URI (or template, or an expansion of one) behind an exposed
 * URI, or null when it is not one of ours. Server names hold no `/`, so the server part ends at the
 * first one after the prefix and URIs of two servers never meet; the rest is the upstream's, exactly.
 * Only a prefix and a name are checked: the time taken is linear in the URI, whatever it holds.
 */
export function parseExposedUri(uri: string): { serverName: string; uri: string } | null {
  if (!uri.startsWith(URI_PREFIX)) return null;
  const slash = uri.indexOf('/', URI_PREFIX.length);
  if (slash < 0 || slash === uri.length - 1) return null;
  const serverName = uri.slice(URI_PREFIX.length, slash);
  if (!checkServerName(serverName).ok) return null;
  return { serverName, uri: uri.slice(slash + 1) };
}
