import { z } from 'zod';
import type { CachedTool } from './tool-cache.js';

/** A JSON Schema object as an upstream gave it (input or output schema of a tool). */
export const jsonSchemaObject = z.record(z.string(), z.unknown());

/** The behaviour hints of a tool (MCP `ToolAnnotations`): only these five keys are passed on. */
export const toolAnnotationsSchema = z.object({
  title: z.string().optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

/** One icon (MCP 2025-11-25 `Icon`). */
export const toolIconSchema = z.object({
  src: z.string(),
  mimeType: z.string().optional(),
  sizes: z.array(z.string()).optional(),
  theme: z.enum(['light', 'dark']).optional(),
});

/** The optional keys of a listed tool: present only when the upstream gave them well-formed. */
export interface ToolDetails {
  title?: string;
  inputSchema?: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: z.infer<typeof toolAnnotationsSchema>;
  icons?: z.infer<typeof toolIconSchema>[];
}

/**
 * Icon sources a client may safely load (the spec asks clients to refuse `javascript:`, `file:` and
 * the like): https, and inline `data:` images.
 */
function safeIconSource(src: string): boolean {
  try {
    const protocol = new URL(src).protocol;
    return protocol === 'https:' || protocol === 'data:';
  } catch {
    return false;
  }
}

/** The well-formed annotation keys, or nothing when none is. */
function annotationsOf(value: unknown): ToolDetails['annotations'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const kept: Record<string, unknown> = {};
  const shape = toolAnnotationsSchema.shape;
  for (const key of Object.keys(shape) as (keyof typeof shape)[]) {
    const parsed = shape[key].safeParse((value as Record<string, unknown>)[key]);
    if (parsed.success && parsed.data !== undefined) kept[key] = parsed.data;
  }
  return Object.keys(kept).length > 0 ? kept : undefined;
}

/** The well-formed icons with a safe source, or nothing when none is. */
function iconsOf(value: unknown): ToolDetails['icons'] {
  if (!Array.isArray(value)) return undefined;
  const icons = value.flatMap((icon) => {
    const parsed = toolIconSchema.safeParse(icon);
    return parsed.success && safeIconSource(parsed.data.src) ? [parsed.data] : [];
  });
  return icons.length > 0 ? icons : undefined;
}

/**
 * What the REST listing adds to a tool's `{name, pluginKey, description}`: title, schemas,
 * annotations and icons, each only when the upstream gave it in a usable shape. A malformed key is
 * left out rather than failing the whole listing (the response schema would reject it).
 */
export function toolDetails(tool: CachedTool): ToolDetails {
  const details: ToolDetails = {};
  if (typeof tool.title === 'string' && tool.title !== '') details.title = tool.title;
  const input = jsonSchemaObject.safeParse(tool.inputSchema);
  if (input.success) details.inputSchema = input.data;
  const output = jsonSchemaObject.safeParse(tool.outputSchema);
  if (output.success) details.outputSchema = output.data;
  const annotations = annotationsOf(tool.annotations);
  if (annotations) details.annotations = annotations;
  const icons = iconsOf(tool.icons);
  if (icons) details.icons = icons;
  return details;
}
