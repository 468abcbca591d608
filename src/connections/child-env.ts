/**
 * The only variables a stdio child inherits from the hub (SX-05 in docs/security.md): enough to find
 * executables and a home directory, plus locale, time zone and temp dir when the host sets them.
 * Everything else (JWT_SECRET, CREDENTIALS_KEY, DATABASE_URL, REDIS_URL, …) stays in the hub.
 */
export const INHERITED_ENV_NAMES = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;

/**
 * The environment of a stdio child: the allowlisted names from `hostEnv`, then the server
 * config's own `env` on top (an admin may set PATH deliberately).
 */
export function stdioChildEnv(
  hostEnv: Readonly<Record<string, string | undefined>>,
  specEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV_NAMES) {
    const value = hostEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...specEnv };
}
