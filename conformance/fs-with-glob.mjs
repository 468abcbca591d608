// @ts-check
/**
 * `node:fs` plus a `globSync`, for the conformance CLI on Node 20 (its bundle imports `globSync`
 * from `fs`, which Node adds in 22). The hook in `fs-hooks.mjs` hands this module to that bundle
 * only; everything else keeps the real `node:fs`.
 *
 * The CLI's one call site (its `tier-check` summary) is `globSync('**\/checks.json', { cwd })`, so
 * this covers what that needs and a little more: `*`, `?` and `**` segments, one pattern or a list,
 * a `cwd` (string or file URL); paths come back relative to `cwd`, as Node 22 returns them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export * from 'node:fs';
export default fs;

/**
 * One pattern segment as a regular expression: `*` is any run within a segment, `?` one character.
 * @param {string} segment
 * @returns {RegExp}
 */
function segmentPattern(segment) {
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether the path segments match the pattern segments; `**` takes zero or more segments.
 * @param {readonly (RegExp | '**')[]} pattern
 * @param {readonly string[]} parts
 * @returns {boolean}
 */
function matches(pattern, parts) {
  const [head, ...rest] = pattern;
  if (head === undefined) return parts.length === 0;
  if (head === '**') {
    for (let skip = 0; skip <= parts.length; skip += 1) {
      if (matches(rest, parts.slice(skip))) return true;
    }
    return false;
  }
  const [part, ...others] = parts;
  return part !== undefined && head.test(part) && matches(rest, others);
}

/**
 * Every file and directory under `root`, as `/`-separated paths relative to it. Symbolic links are
 * listed but not followed, so a link cycle cannot loop.
 * @param {string} root
 * @returns {string[]}
 */
function walk(root) {
  /** @type {string[]} */
  const found = [];
  /** @param {string} relative */
  const visit = (relative) => {
    for (const entry of fs.readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      found.push(child);
      if (entry.isDirectory()) visit(child);
    }
  };
  visit('');
  return found;
}

/**
 * A synchronous glob good enough for the conformance CLI (see the file comment).
 * @param {string | readonly string[]} patterns
 * @param {{ cwd?: string | URL }} [options]
 * @returns {string[]}
 */
export function globSync(patterns, options = {}) {
  const cwd = options.cwd instanceof URL ? fileURLToPath(options.cwd) : (options.cwd ?? process.cwd());
  const compiled = (typeof patterns === 'string' ? [patterns] : patterns).map((pattern) =>
    pattern
      .split('/')
      .filter((segment) => segment !== '' && segment !== '.')
      .map((segment) => (segment === '**' ? /** @type {const} */ ('**') : segmentPattern(segment))),
  );
  if (!fs.existsSync(cwd)) return [];
  return walk(cwd)
    .filter((relative) => compiled.some((pattern) => matches(pattern, relative.split('/'))))
    .map((relative) => relative.split('/').join(path.sep));
}
