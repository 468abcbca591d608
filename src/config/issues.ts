/**
 * One problem found in the configuration, named by where it is, so `switchboard config check` can print
 * every problem at once and an operator can fix them in one pass.
 */
export interface ConfigIssue {
  /**
   * Where the problem is: a dotted key path in the YAML (`mcpServers.github.oauth.clientId`, with `[n]` for
   * list items), an environment variable name (`PORT`), or `''` for the file as a whole.
   */
  path: string;
  /** What is wrong, safe to print: it never quotes a secret value. */
  message: string;
  /** 1-based line in the YAML file, when the problem can be placed there. */
  line?: number;
  /** 1-based column in the YAML file, when the problem can be placed there. */
  column?: number;
}

/** Finds where a key path sits in the source text, when there is source text. */
export type Locate = (path: readonly PropertyKey[]) => { line: number; column: number } | undefined;

/** Builds an issue at `path`, placed in the source when `locate` can find it. */
export function issueAt(path: readonly PropertyKey[], message: string, locate?: Locate): ConfigIssue {
  const position = locate?.(path);
  return position === undefined
    ? { path: formatPath(path), message }
    : { path: formatPath(path), message, line: position.line, column: position.column };
}

/** A validated value, or every issue that stopped it. */
export type ConfigResult<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/** A key that needs no quoting in a path: the characters server names and schema keys are made of. */
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Renders a key path as `a.b[0].c`. Keys with other characters (a server name such as `my.server` is
 * refused, but must still be named unambiguously) are written as `["my.server"]`.
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else {
      const key = String(segment);
      if (PLAIN_KEY.test(key)) {
        out += out === '' ? key : `.${key}`;
      } else {
        out += `[${JSON.stringify(key)}]`;
      }
    }
  }
  return out;
}

/** Joins a path prefix and one more key, with the same rules as {@link formatPath}. */
export function appendPath(prefix: string, key: PropertyKey): string {
  const tail = formatPath([key]);
  if (prefix === '' || tail.startsWith('[')) return prefix + tail;
  return `${prefix}.${tail}`;
}

/**
 * One line per issue, `path: message`, with the position when known; the file as a whole is `(file)`.
 * Used by `switchboard config check` and in the log line when the hub refuses to start.
 */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.line === undefined ? '' : ` (line ${issue.line}, column ${issue.column ?? 1})`;
      return `${issue.path === '' ? '(file)' : issue.path}: ${issue.message}${where}`;
    })
    .join('\n');
}
