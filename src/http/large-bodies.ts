import type { FastifyInstance } from 'fastify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import { $ZodType, safeEncode } from 'zod/v4/core';
import { bodyForWrite, jsonBody } from '../core/index.js';

/**
 * Every route's serialized answer goes out as {@link jsonBody} or {@link bodyForWrite} makes it: a
 * large one as bytes, with no extra copy of its long strings in the heap.
 */
export function installLargeBodyEncoding(app: FastifyInstance): void {
  app.setSerializerCompiler(responseSerializer);
  app.addHook('onSend', (_request, _reply, payload, done) => {
    done(null, typeof payload === 'string' ? bodyForWrite(payload) : payload);
  });
}

/**
 * A route's zod response schema checks and encodes its answer (as fastify-type-provider-zod's own
 * compiler does), and {@link jsonBody} writes it. Fastify sends a Buffer from a serializer as it
 * is, with its length, though the type says string.
 */
const responseSerializer: FastifySerializerCompiler<$ZodType | { properties: $ZodType }> = ({
  schema,
  method,
  url,
}) => {
  const zod = schema instanceof $ZodType ? schema : schema.properties;
  return (data) => {
    const result = safeEncode(zod, data);
    if (!result.success) throw new ResponseSerializationError(method, url, { cause: result.error });
    return jsonBody(result.data) as string;
  };
};
