import { z } from 'zod';

type AnySchema = z.core.$ZodType;

/** Looks through wrappers that do not change which keys an object accepts. */
function unwrap(schema: AnySchema): AnySchema {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      // A preprocess step is the `in` side of a pipe; the keys live on the `out` side.
      current = current.out;
    } else {
      return current;
    }
  }
}

/** Every schema `schema` may be, once unions are opened up. */
function alternatives(schema: AnySchema): AnySchema[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodUnion) return inner.options.flatMap((option) => alternatives(option));
  return [inner];
}

/** The schemas a child value at `segment` may be validated by. */
function childSchemas(schema: AnySchema, segment: PropertyKey): AnySchema[] {
  return alternatives(schema).flatMap((option): AnySchema[] => {
    if (option instanceof z.ZodObject) {
      const child = (option.shape as Record<string, AnySchema | undefined>)[String(segment)];
      return child === undefined ? [] : [child];
    }
    if (option instanceof z.ZodRecord) return [option.valueType];
    if (option instanceof z.ZodArray) return [option.element];
    return [];
  });
}

/**
 * The keys the object at `path` may hold, for "did you mean" hints on unknown keys. Where the path runs
 * through a union (the server types), the keys of every branch are offered: the hint is a guess, and a
 * guess from a sibling transport is still better than none.
 */
export function knownKeysAt(root: AnySchema, path: readonly PropertyKey[]): string[] {
  let current: AnySchema[] = [root];
  for (const segment of path) {
    current = current.flatMap((schema) => childSchemas(schema, segment));
  }
  const keys = new Set<string>();
  for (const schema of current) {
    for (const option of alternatives(schema)) {
      if (option instanceof z.ZodObject) {
        for (const key of Object.keys(option.shape)) keys.add(key);
      }
    }
  }
  return [...keys];
}
