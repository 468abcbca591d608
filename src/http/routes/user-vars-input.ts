import { z } from 'zod';
import { HubError } from '../../errors/index.js';
import { userVarFields, type RegisteredServer } from '../../registry/index.js';

// The one validation of a caller's custom variables, shared by `PUT /api/mcp/:serverName/auth-values`
// and `POST /api/user/plugins`, so both faces of the same store accept exactly the same input.

/** A variable's name as a body key: bounded. */
export const userVarNameSchema = z.string().max(128);

/** A value goes into a header or URL upstream: bounded, and no line breaks (header injection). */
export const userVarValueSchema = z
  .string()
  .max(8192)
  .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks');

/** Which of the server's variables the caller has set; never the values. */
export function authValueFlags(
  server: RegisteredServer,
  values: Readonly<Record<string, string>>,
): Record<string, boolean> {
  return Object.fromEntries(
    userVarFields(server.config).map((f) => [
      f.authField,
      Object.hasOwn(values, f.authField) && Boolean(values[f.authField]),
    ]),
  );
}

/**
 * Throws `HUB_ERR_VALIDATION` naming every key that is not a declared variable of the server;
 * `pathPrefix` is where the keys sit in the request body, for the error's `path`.
 */
export function assertKnownUserVars(
  server: RegisteredServer,
  values: Readonly<Record<string, unknown>>,
  pathPrefix: string,
): void {
  const known = new Set(userVarFields(server.config).map((f) => f.authField));
  const unknown = Object.keys(values).filter((name) => !known.has(name));
  if (unknown.length === 0) return;
  throw new HubError('HUB_ERR_VALIDATION', {
    message: `Unknown variable${unknown.length > 1 ? 's' : ''} for '${server.name}': ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
    details: {
      errors: unknown.map((n) => ({ path: `${pathPrefix}.${n}`, message: 'not a variable of this server' })),
    },
  });
}
