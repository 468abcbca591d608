/** The escape character used with {@link containsPattern}; pass it in the query's ESCAPE clause. */
export const LIKE_ESCAPE = '\\';

/**
 * A LIKE pattern matching `text` anywhere, lower-cased. `%`, `_` and the escape character in
 * user input are escaped, so a search for "50%" does not match everything.
 */
export function containsPattern(text: string): string {
  const escaped = text.toLowerCase().replace(/[\\%_]/g, (ch) => `${LIKE_ESCAPE}${ch}`);
  return `%${escaped}%`;
}
