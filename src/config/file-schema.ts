import { z } from 'zod';
import { interfaceSchema, rolesSchema } from './roles-schema.js';
import { authSchema } from './sso-schema.js';
import { serverConfigSchema } from './server-schema.js';
import { mcpSettingsSchema } from './settings-schema.js';

/**
 * The whole `switchboard.yaml`: LibreChat's `mcpServers`, `mcpSettings` and `interface.mcpServers`
 * unchanged, plus the hub's `roles` and `auth` (single sign-on). Server names are checked separately (`checkServerName`), because
 * their rule produces its own message naming the key.
 */
export const configFileSchema = z.strictObject({
  /** LibreChat files carry a schema version (`1.2.1`, which YAML may read as a number); it is ignored. */
  version: z.union([z.string(), z.number()]).optional(),
  mcpServers: z.record(z.string(), serverConfigSchema).default({}),
  // prefault: an absent section goes through the schema, so its defaults are filled in.
  mcpSettings: mcpSettingsSchema.prefault({}),
  roles: rolesSchema.optional(),
  interface: interfaceSchema.optional(),
  auth: authSchema.prefault({}),
});

/** The validated file, before roles are resolved. */
export type ConfigFile = z.output<typeof configFileSchema>;
