import type { ConfigResult } from './issues.js';
import { serverKeyNote } from './key-hints.js';
import { type ServerConfig, serverConfigSchema } from './server-schema.js';
import { configErrorMap, toConfigIssues } from './zod-issues.js';

/**
 * Validates one server entry as given, with every issue and "did you mean" hints. Nothing is expanded:
 * this is the entry point for user-created servers, whose strings must never reach the environment.
 * `prefix` places issue paths inside a larger document (e.g. `['config']` for an API body).
 */
export function validateServerConfig(
  value: unknown,
  prefix: readonly PropertyKey[] = [],
): ConfigResult<ServerConfig> {
  const parsed = serverConfigSchema.safeParse(value, { error: configErrorMap });
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    issues: toConfigIssues(parsed.error.issues, serverConfigSchema, { prefix, note: serverKeyNote }),
  };
}
