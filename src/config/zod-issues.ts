import type { z } from 'zod';
import { type ConfigIssue, type Locate, issueAt } from './issues.js';
import { type KeyNote, unknownKeyMessage } from './key-hints.js';
import { knownKeysAt } from './schema-keys.js';

/** How a YAML value reads in a message: its kind, never its content (it may be a secret). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && Number.isInteger(value)) return 'an integer';
  return `a ${typeof value}`;
}

const EXPECTED_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/**
 * Plain-words messages for the issue kinds an operator meets in a YAML file; zod's own wording is kept
 * for the rest. Passed to `safeParse` as the per-parse error map, so schema-level messages still win.
 */
export const configErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      const expected = EXPECTED_NAMES[issue.expected] ?? issue.expected;
      const got = kindOf(issue.input);
      // `client_id: 12345` parses as a number; the fix is quoting, which YAML users often do not guess.
      const quoteHint =
        issue.expected === 'string' && (typeof issue.input === 'number' || typeof issue.input === 'boolean')
          ? ' (put it in quotes)'
          : '';
      return `expected ${expected}, got ${got}${quoteHint}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => `'${String(value)}'`).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      if (issue.origin === 'array') return `must have at least ${String(issue.minimum)} item(s)`;
      return `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} items`;
      return `must be at most ${String(issue.maximum)}`;
    default:
      return undefined;
  }
};

/** Where converted issues sit and how unknown keys are explained. */
export interface IssueContext {
  /** Path of the validated value inside the document, put before every issue path. */
  prefix?: readonly PropertyKey[];
  /** Extra words for unknown keys that have no close match; paths given to it are relative to `root`. */
  note?: KeyNote;
  /** Places issues in the source text; given document-relative paths (prefix included). */
  locate?: Locate;
}

/**
 * Turns zod's issues into {@link ConfigIssue}s: one per unknown key (zod groups them per object) with a
 * "did you mean" hint from the keys `root` allows at that place, and every path prefixed.
 */
export function toConfigIssues(
  issues: readonly z.core.$ZodIssue[],
  root: z.core.$ZodType,
  context: IssueContext = {},
): ConfigIssue[] {
  const prefix = context.prefix ?? [];
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = knownKeysAt(root, issue.path);
      const nested = new Map<string, string[]>();
      for (const key of allowed) {
        const inner = knownKeysAt(root, [...issue.path, key]);
        if (inner.length > 0) nested.set(key, inner);
      }
      for (const key of issue.keys) {
        const note = context.note?.(issue.path, key);
        out.push(
          issueAt(
            [...prefix, ...issue.path, key],
            unknownKeyMessage(key, { allowed, nested, note }),
            context.locate,
          ),
        );
      }
    } else if (issue.code === 'invalid_key') {
      // zod reports a bad record key as "Invalid key in record" and keeps the reason one level down.
      const reason = issue.issues[0]?.message ?? issue.message;
      out.push(issueAt([...prefix, ...issue.path], `key ${reason}`, context.locate));
    } else {
      out.push(issueAt([...prefix, ...issue.path], issue.message, context.locate));
    }
  }
  return out;
}
