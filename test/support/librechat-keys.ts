import * as librechat from 'librechat-data-provider';

/*
 * LibreChat's data-provider package builds its config schemas with zod 3, whose runtime objects carry a
 * `_def` with a `typeName`. The walk below reads only that, so it works whichever zod this project uses.
 */

/** One key LibreChat accepts: the path of the object holding it (`*` for any record key) and the key. */
export interface AcceptedKey {
  parent: readonly string[];
  key: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function defOf(schema: unknown): Record<string, unknown> | undefined {
  if (!isRecord(schema)) return undefined;
  const def = schema._def;
  return isRecord(def) ? def : undefined;
}

/** The schemas a zod 3 wrapper, union or pipeline stands for, as far as accepted keys go. */
function innerSchemas(def: Record<string, unknown>): unknown[] {
  switch (def.typeName) {
    case 'ZodOptional':
    case 'ZodNullable':
    case 'ZodDefault':
    case 'ZodReadonly':
    case 'ZodCatch':
      return [def.innerType];
    case 'ZodBranded':
      return [def.type];
    case 'ZodEffects':
      return [def.schema];
    case 'ZodPipeline':
      // Keys are checked on the way in: the input side is what a YAML file must satisfy.
      return [def.in];
    case 'ZodLazy':
      return typeof def.getter === 'function' ? [(def.getter as () => unknown)()] : [];
    case 'ZodUnion':
      return Array.isArray(def.options) ? def.options : [];
    case 'ZodDiscriminatedUnion':
      return def.options instanceof Map
        ? [...def.options.values()]
        : Array.isArray(def.options)
          ? def.options
          : [];
    case 'ZodIntersection':
      return [def.left, def.right];
    default:
      return [];
  }
}

/** Every key `schema` accepts at `parent` and below: object shapes, through records, arrays and unions. */
function acceptedKeys(schema: unknown, parent: readonly string[], out: Map<string, AcceptedKey>): void {
  const def = defOf(schema);
  if (def === undefined) return;
  if (def.typeName === 'ZodObject') {
    const shape: unknown = typeof def.shape === 'function' ? (def.shape as () => unknown)() : undefined;
    if (!isRecord(shape)) return;
    for (const [key, child] of Object.entries(shape)) {
      out.set([...parent, key].join('.'), { parent, key });
      acceptedKeys(child, [...parent, key], out);
    }
    return;
  }
  if (def.typeName === 'ZodRecord') return acceptedKeys(def.valueType, [...parent, '*'], out);
  if (def.typeName === 'ZodArray') return acceptedKeys(def.type, [...parent, '*'], out);
  for (const inner of innerSchemas(def)) acceptedKeys(inner, parent, out);
}

/** The shape of a zod 3 object, for picking one section out of LibreChat's whole-file schema. */
function shapeOf(schema: unknown): Record<string, unknown> {
  let def = defOf(schema);
  while (def !== undefined && def.typeName !== 'ZodObject') def = defOf(innerSchemas(def)[0]);
  const shape: unknown =
    def !== undefined && typeof def.shape === 'function' ? (def.shape as () => unknown)() : {};
  return isRecord(shape) ? shape : {};
}

/**
 * Every key of the sections Switchboard reads from a `librechat.yaml`: `mcpServers` (every transport),
 * `mcpSettings` and `interface.mcpServers`. Other `interface` switches and top-level sections belong to
 * LibreChat's chat UI and are refused with a note saying so.
 */
export function librechatKeys(): Map<string, AcceptedKey> {
  const out = new Map<string, AcceptedKey>();
  const file = shapeOf(librechat.configSchema);
  acceptedKeys(file.mcpServers, ['mcpServers'], out);
  acceptedKeys(librechat.MCPOptionsSchema, ['mcpServers', '*'], out);
  acceptedKeys(file.mcpSettings, ['mcpSettings'], out);
  out.set('interface.mcpServers', { parent: ['interface'], key: 'mcpServers' });
  acceptedKeys(shapeOf(librechat.interfaceSchema).mcpServers, ['interface', 'mcpServers'], out);
  return out;
}
