import { type EnvSource, expandEnvReferences } from './env-expansion.js';
import { configFileSchema } from './file-schema.js';
import { type ConfigIssue, type ConfigResult, issueAt } from './issues.js';
import { fileKeyNote } from './key-hints.js';
import { type RoleName, type RolePermissions, resolveRoles } from './roles-schema.js';
import { checkServerName } from './server-name.js';
import type { SsoProviderConfig } from './sso-schema.js';
import type { ServerConfig } from './server-schema.js';
import type { McpSettings } from './settings-schema.js';
import { type ConfigWarning, unusedKeyWarnings } from './unused-keys.js';
import { parseYaml } from './yaml-source.js';
import { configErrorMap, toConfigIssues } from './zod-issues.js';

/** What `switchboard.yaml` says, validated, with defaults filled in and roles resolved. */
export interface ConfigFileContents {
  mcpServers: Record<string, ServerConfig>;
  mcpSettings: McpSettings;
  roles: Record<RoleName, RolePermissions>;
  /** `auth.sso`: the identity providers people sign in with. */
  sso: SsoProviderConfig[];
  /** Keys accepted for LibreChat's sake that the hub does not act on, for one warning each at start. */
  warnings: ConfigWarning[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A section left with only commented-out entries (`mcpServers:` and nothing under it) reads as null;
 * treat it as absent rather than make the operator delete the heading.
 */
function withoutEmptySections(document: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(document).filter(([, value]) => value !== null));
}

/** Issues with a position come first, in file order; the rest keep the order they were found in. */
function byPosition(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort(
      (a, b) =>
        (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) ||
        (a.issue.column ?? Infinity) - (b.issue.column ?? Infinity) ||
        a.index - b.index,
    )
    .map(({ issue }) => issue);
}

/**
 * Validates the text of `switchboard.yaml`: YAML syntax, then `${NAME}` expansion from `env`, then
 * server names and the schema. Every issue from every stage is returned together, so one run of
 * `config check` shows all that needs fixing. An empty file is a valid file with no servers.
 */
export function validateConfigText(text: string, env: EnvSource): ConfigResult<ConfigFileContents> {
  const source = parseYaml(text);
  if (source.value === undefined) return { ok: false, issues: source.issues };
  const issues: ConfigIssue[] = [...source.issues];

  const raw = source.value ?? {};
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      issues: [...issues, issueAt([], 'the file must be a mapping of sections (mcpServers: …)')],
    };
  }
  const document = withoutEmptySections(raw);

  const expansion = expandEnvReferences(document, env, source.locate);
  issues.push(...expansion.issues);

  const servers = document.mcpServers;
  if (isPlainObject(servers)) {
    for (const name of Object.keys(servers)) {
      const checked = checkServerName(name);
      if (!checked.ok) issues.push(issueAt(['mcpServers', name], checked.message, source.locate));
    }
  }

  const parsed = configFileSchema.safeParse(expansion.value, { error: configErrorMap });
  if (!parsed.success) {
    issues.push(
      ...toConfigIssues(parsed.error.issues, configFileSchema, { note: fileKeyNote, locate: source.locate }),
    );
  }

  if (!parsed.success || issues.length > 0) return { ok: false, issues: byPosition(issues) };
  return {
    ok: true,
    value: {
      mcpServers: parsed.data.mcpServers,
      mcpSettings: parsed.data.mcpSettings,
      roles: resolveRoles(parsed.data.roles, parsed.data.interface),
      sso: parsed.data.auth.sso,
      warnings: unusedKeyWarnings(parsed.data),
    },
  };
}
