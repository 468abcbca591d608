import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * Field names whose values are secrets wherever they appear.
 * Redaction lives in the logger itself so it never depends on call-site discipline.
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'passwordHash',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'refreshToken',
  'code',
  'code_verifier',
  'codeVerifier',
  'client_secret',
  'clientSecret',
  'state',
  'jwtSecret',
  'credentialsKey',
  'apiKey',
  'headers',
  'env',
] as const;

/** Builds the redaction paths: each secret key at the top level and up to three levels deep. */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SECRET_KEYS) {
    const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const dot = k.startsWith('[') ? '' : '.';
    paths.push(k, `*${dot}${k}`, `*.*${dot}${k}`, `*.*.*${dot}${k}`);
  }
  // Request headers are logged by Fastify under req.headers; keep the safe ones, drop the secret ones.
  paths.push('req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]');
  return paths;
}

/** A request URL as logged: no query string, and a browser link's ticket masked. */
function withoutSecrets(url: string): string {
  return (url.split('?')[0] ?? '').replace(/\/oauth\/link\/[^/]+/, '/oauth/link/[redacted]');
}

/** Options for {@link createLogger}. */
export interface LoggerSettings {
  level: string;
  /** Where lines go; defaults to stdout. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

/** The hub's pino logger: JSON lines, secrets redacted at the serializer. */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'switchboard' },
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string; id?: string }) => ({
        method: req.method,
        // The query string may carry `code` and `state` (OAuth callback): log the path only, and
        // not a browser link's ticket either (its path is the secret).
        url: typeof req.url === 'string' ? withoutSecrets(req.url) : undefined,
        id: req.id,
      }),
      // `code` is a redacted key (OAuth codes); error codes are kept under `errorCode` instead.
      err: (err: Error) => {
        const { code, ...rest } = pino.stdSerializers.err(err) as Record<string, unknown>;
        return code === undefined ? rest : { ...rest, errorCode: code };
      },
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

export type { Logger };
