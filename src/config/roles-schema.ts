import { z } from 'zod';
import { milliseconds } from './schema-primitives.js';

/** The two roles: `USER` and `ADMIN`. */
export type RoleName = 'USER' | 'ADMIN';

/** What a role may do with MCP servers, every bit resolved. */
export interface RolePermissions {
  MCP_SERVERS: {
    /** Use servers: list them, connect, call tools. */
    USE: boolean;
    /** Create servers of one's own. */
    CREATE: boolean;
    /** Share one's servers with users and groups. */
    SHARE: boolean;
    /** Share one's servers with everyone. */
    SHARE_PUBLIC: boolean;
  };
}

/** Defaults: users use and create, only admins share; the file may change any bit. */
export const DEFAULT_ROLES: Readonly<Record<RoleName, RolePermissions>> = {
  USER: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: false, SHARE_PUBLIC: false } },
  ADMIN: { MCP_SERVERS: { USE: true, CREATE: true, SHARE: true, SHARE_PUBLIC: true } },
};

const partialRoleSchema = z.strictObject({
  MCP_SERVERS: z
    .strictObject({
      USE: z.boolean().optional(),
      CREATE: z.boolean().optional(),
      SHARE: z.boolean().optional(),
      SHARE_PUBLIC: z.boolean().optional(),
    })
    .optional(),
});

/** `roles`: partial permissions per role, merged over {@link DEFAULT_ROLES}. */
export const rolesSchema = z.strictObject({
  USER: partialRoleSchema.optional(),
  ADMIN: partialRoleSchema.optional(),
});

/** LibreChat's `trustCheckbox` label: one string, or one per language. */
const localizedTextSchema = z.union([z.string(), z.record(z.string(), z.string())]);

/**
 * LibreChat's `interface` section, of which the hub reads only `mcpServers`. Its four switches become
 * the USER role's bits; the UI-only keys LibreChat accepts there are allowed and ignored, so a copied
 * section still validates.
 */
export const interfaceSchema = z.strictObject({
  mcpServers: z
    .strictObject({
      use: z.boolean().optional(),
      create: z.boolean().optional(),
      share: z.boolean().optional(),
      public: z.boolean().optional(),
      placeholder: z.string().optional(),
      showPanel: z.boolean().optional(),
      configureObo: z.boolean().optional(),
      /** LibreChat's UI polling intervals, ms (0 turns polling off). */
      toolsRefreshInterval: milliseconds().optional(),
      statusRefreshInterval: milliseconds().optional(),
      trustCheckbox: z
        .strictObject({ label: localizedTextSchema.optional(), subLabel: localizedTextSchema.optional() })
        .optional(),
    })
    .optional(),
});

type PartialRole = z.output<typeof partialRoleSchema>;

const PERMISSION_BITS = ['USE', 'CREATE', 'SHARE', 'SHARE_PUBLIC'] as const;

function mergeRole(base: RolePermissions, ...layers: (PartialRole | undefined)[]): RolePermissions {
  const bits = { ...base.MCP_SERVERS };
  for (const layer of layers) {
    const given = layer?.MCP_SERVERS;
    if (given === undefined) continue;
    for (const bit of PERMISSION_BITS) {
      const value = given[bit];
      if (value !== undefined) bits[bit] = value;
    }
  }
  return { MCP_SERVERS: bits };
}

/**
 * Resolves every role's permissions: defaults, then LibreChat's `interface.mcpServers` (USER only),
 * then `roles`. `roles` is applied last because it is the hub's own, more specific, spelling.
 */
export function resolveRoles(
  roles: z.output<typeof rolesSchema> | undefined,
  ui: z.output<typeof interfaceSchema> | undefined,
): Record<RoleName, RolePermissions> {
  const fromInterface = ui?.mcpServers;
  const interfaceLayer: PartialRole | undefined =
    fromInterface === undefined
      ? undefined
      : {
          MCP_SERVERS: {
            ...(fromInterface.use === undefined ? {} : { USE: fromInterface.use }),
            ...(fromInterface.create === undefined ? {} : { CREATE: fromInterface.create }),
            ...(fromInterface.share === undefined ? {} : { SHARE: fromInterface.share }),
            ...(fromInterface.public === undefined ? {} : { SHARE_PUBLIC: fromInterface.public }),
          },
        };
  return {
    USER: mergeRole(DEFAULT_ROLES.USER, interfaceLayer, roles?.USER),
    ADMIN: mergeRole(DEFAULT_ROLES.ADMIN, roles?.ADMIN),
  };
}
