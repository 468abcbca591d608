import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HubError } from '../errors/index.js';

/** The two process secrets the hub needs. */
export interface HubSecrets {
  jwtSecret: string;
  /** 64 hex characters (32 bytes), LibreChat's `CREDS_KEY` format. */
  credentialsKey: string;
  /** Which ones were generated on this start (for the log line; never the values). */
  generated: Array<'JWT_SECRET' | 'CREDENTIALS_KEY'>;
}

const FILES = { JWT_SECRET: 'jwt-secret', CREDENTIALS_KEY: 'credentials-key' } as const;

/**
 * Returns the configured secrets, or in the embedded mode reads them from (or generates them once
 * into) the data directory with mode 0600. In production a missing secret is an error: a generated
 * one on a fresh container would silently log every user out and orphan every stored credential.
 */
export async function ensureSecrets(options: {
  jwtSecret: string | undefined;
  credentialsKey: string | undefined;
  dataDir: string;
  production: boolean;
}): Promise<HubSecrets> {
  const generated: HubSecrets['generated'] = [];
  const resolve = async (
    name: keyof typeof FILES,
    given: string | undefined,
    make: () => string,
  ): Promise<string> => {
    if (given) return given;
    if (options.production) {
      throw new HubError('HUB_ERR_SECRET_MISSING', {
        message: `${name} must be set when NODE_ENV=production`,
      });
    }
    const file = path.join(options.dataDir, FILES[name]);
    const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    });
    if (existing && existing.trim()) return existing.trim();
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const value = make();
    // `wx`: two processes starting at once must not overwrite each other's fresh secret.
    try {
      await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
      generated.push(name);
      return value;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(file, 'utf8')).trim();
      throw err;
    }
  };
  const jwtSecret = await resolve('JWT_SECRET', options.jwtSecret, () =>
    randomBytes(48).toString('base64url'),
  );
  const credentialsKey = await resolve('CREDENTIALS_KEY', options.credentialsKey, () =>
    randomBytes(32).toString('hex'),
  );
  return { jwtSecret, credentialsKey, generated };
}
