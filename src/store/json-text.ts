/** A JSON object as stored in a text column. */
export type JsonObject = Record<string, unknown>;

/**
 * Parses a text column written by {@link toJsonText}. Anything other than an object means the
 * row was written outside the hub; failing loudly beats handing a half-typed value onward.
 */
export function parseJsonObject(text: string, column: string): JsonObject {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`Column ${column} does not hold a JSON object`);
  }
  return value as JsonObject; // Checked just above: a non-null, non-array object.
}

/** Serialises a JSON object for a text column. */
export function toJsonText(value: JsonObject): string {
  return JSON.stringify(value);
}
