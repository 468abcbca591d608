import { type Document, LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { ConfigIssue, Locate } from './issues.js';

/** A 1-based position in the YAML text. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** A parsed YAML file: its plain value (undefined when it could not be read) and a way to place issues. */
export interface YamlSource {
  value: unknown;
  issues: ConfigIssue[];
  /** Where the deepest node along a key path starts (the key, for mapping entries), if any of it exists. */
  locate: Locate;
}

/**
 * Anchors are expanded when the document becomes plain data; this many aliases is far beyond any real
 * config and stops a "billion laughs" file from exhausting memory.
 */
const MAX_ALIASES = 100;

/** True when `value` contains itself (`a: &x [*x]`), which would send every later walk round forever. */
function isCircular(value: unknown, ancestors: Set<object> = new Set()): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ancestors.has(value)) return true;
  ancestors.add(value);
  const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
  const circular = children.some((child) => isCircular(child, ancestors));
  ancestors.delete(value);
  return circular;
}

function positionOf(lineCounter: LineCounter, offset: number | undefined): SourcePosition | undefined {
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function locator(document: Document, lineCounter: LineCounter): Locate {
  return (path) => {
    let node: unknown = document.contents;
    let found: number | undefined;
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(document);
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (pair === undefined) break;
        found = isScalar(pair.key) ? pair.key.range?.[0] : found;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        node = item;
        found = isScalar(item) || isMap(item) || isSeq(item) ? item.range?.[0] : found;
      } else {
        break;
      }
    }
    return positionOf(lineCounter, found);
  };
}

/**
 * Parses YAML text into plain data. Syntax errors and warnings (an unknown tag, say) are issues with
 * their position; LibreChat files that use merge keys (`<<: *defaults`) read as they do there.
 */
export function parseYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false });
  const locate = locator(document, lineCounter);
  const issues: ConfigIssue[] = [...document.errors, ...document.warnings].map((problem) => ({
    path: '',
    message: `YAML: ${problem.message}`,
    ...positionOf(lineCounter, problem.pos[0]),
  }));
  if (document.errors.length > 0) return { value: undefined, issues, locate };

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    // toJS throws for an alias with no anchor and for too many aliases; both are mistakes in the file.
    issues.push({ path: '', message: `YAML: ${error instanceof Error ? error.message : String(error)}` });
    return { value: undefined, issues, locate };
  }
  if (isCircular(value)) {
    issues.push({ path: '', message: 'YAML: an alias refers to a node that contains it' });
    return { value: undefined, issues, locate };
  }
  return { value, issues, locate };
}
