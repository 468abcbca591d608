import { z } from 'zod';

/**
 * Shapes of the upstream results the REST content routes return (MCP 2025-11-25, server features).
 * Each names the fields a client relies on and keeps the rest of the upstream's object as it came
 * (`_meta`, `annotations`, `icons`, fields of later protocol versions): the content is the
 * upstream's, not the hub's, so nothing internal can leak through it. They check results before
 * they are answered, and describe the answers in the OpenAPI document.
 */

/** The opaque cursor of the next page (MCP pagination: absent on the last page). */
const nextCursor = z.string().optional();

/** `resources/list`: the upstream's own URIs (REST is per server, so nothing is namespaced). */
export const resourceListSchema = z.looseObject({
  resources: z.array(z.looseObject({ uri: z.string(), name: z.string(), mimeType: z.string().optional() })),
  nextCursor,
});

/** `resources/templates/list`: RFC 6570 URI templates. */
export const resourceTemplateListSchema = z.looseObject({
  resourceTemplates: z.array(
    z.looseObject({ uriTemplate: z.string(), name: z.string(), mimeType: z.string().optional() }),
  ),
  nextCursor,
});

/** One part of a read resource: text, or binary as base64 in `blob`. */
const resourceContents = z.union([
  z.looseObject({ uri: z.string(), mimeType: z.string().optional(), text: z.string() }),
  z.looseObject({ uri: z.string(), mimeType: z.string().optional(), blob: z.string() }),
]);

/** `resources/read`. */
export const readResourceResultSchema = z.looseObject({ contents: z.array(resourceContents) });

/** `prompts/list`. */
export const promptListSchema = z.looseObject({
  prompts: z.array(
    z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      arguments: z
        .array(
          z.looseObject({
            name: z.string(),
            description: z.string().optional(),
            required: z.boolean().optional(),
          }),
        )
        .optional(),
    }),
  ),
  nextCursor,
});

/** `prompts/get`: messages whose content is text, an image, audio, a resource link or an embedded resource. */
export const promptResultSchema = z.looseObject({
  description: z.string().optional(),
  messages: z.array(
    z.looseObject({ role: z.enum(['user', 'assistant']), content: z.looseObject({ type: z.string() }) }),
  ),
});

/** `completion/complete`: at most 100 values (MCP 2025-11-25, completion). */
export const completionResultSchema = z.looseObject({
  completion: z.looseObject({
    values: z.array(z.string()).max(100),
    total: z.number().int().optional(),
    hasMore: z.boolean().optional(),
  }),
});

/** `logging/setLevel` and other requests whose result is empty (bar `_meta`). */
export const emptyResultSchema = z.looseObject({});
