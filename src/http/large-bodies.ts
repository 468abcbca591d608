import type { FastifyInstance } from 'fastify';

/** Above this many characters, a text body is encoded to bytes before it is written. */
const LARGE_BODY_CHARS = 64 * 1024;

/**
 * The body to hand to Node's `res.end`: a large text as bytes. Node writes a string body together
 * with the headers as one string (headers + body), and that join is flattened into one more copy of
 * the whole body in the heap before the socket's own encode; bytes are written after the headers as
 * they are. A small body stays a string: one write of headers and body, no extra buffer.
 */
export function bodyForWrite(text: string): string | Buffer {
  return text.length > LARGE_BODY_CHARS ? Buffer.from(text) : text;
}

/** Every route's serialized answer goes out through {@link bodyForWrite}. */
export function installLargeBodyEncoding(app: FastifyInstance): void {
  app.addHook('onSend', (_request, _reply, payload, done) => {
    done(null, typeof payload === 'string' ? bodyForWrite(payload) : payload);
  });
}
