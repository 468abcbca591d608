import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createHub, type Hub } from '../../src/bootstrap/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/core/index.js';
import { createLogger } from '../../src/observability/index.js';
import { recordHubSecrets } from './hub-secrets.js';
import { recordLogOutput, recordSecret } from './run-record.js';

/** Per-minute limits no test reaches by accident. */
const RELAXED_RATE_LIMITS = {
  toolCalls: 100_000,
  reinitialize: 100_000,
  serverCreation: 100_000,
  oauthInitiate: 100_000,
  oauthCallback: 100_000,
};

/** A hub for a test: its own data directory, every log line captured. */
export interface TestHub extends Hub {
  dataDir: string;
  /** Every JSON log line written so far. */
  logLines: string[];
  /** Makes a user and returns a bearer token for it. */
  userToken(email: string, role?: 'USER' | 'ADMIN'): Promise<string>;
  /** Closes the hub and removes its data directory. */
  dispose(): Promise<void>;
}

/** Options for {@link startTestHub}. */
export interface TestHubOptions {
  /** Extra environment (JWT_SECRET, DATABASE_URL, …). */
  env?: Record<string, string>;
  /** YAML text for switchboard.yaml; none means no file. */
  yaml?: string;
  clock?: Clock;
  /** Login attempts per minute; tests that hammer the login route raise it. */
  loginAttemptsPerMinute?: number;
}

/** Builds a whole hub in-process with real parts (SQLite in a temp dir unless DATABASE_URL is given). */
export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'switchboard-test-'));
  const configPath = path.join(dataDir, 'switchboard.yaml');
  if (options.yaml !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(configPath, options.yaml);
  }
  const config = await loadConfig({
    env: { DATA_DIR: dataDir, SWITCHBOARD_CONFIG: configPath, LOG_LEVEL: 'debug', ...options.env },
    cwd: dataDir,
  });
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, callback) {
      const text = chunk.toString('utf8');
      logLines.push(...text.split('\n').filter(Boolean));
      recordLogOutput(text);
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const hub = await createHub(config, {
    logger,
    defaultMetrics: false,
    loginAttemptsPerMinute: options.loginAttemptsPerMinute ?? 1000,
    // Tests that hammer routes (a property test creates 150 servers) stay under the limits; a test of
    // a limit sets it in the YAML (mcpSettings.rateLimits), which wins over these.
    rateLimitDefaults: RELAXED_RATE_LIMITS,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  recordHubSecrets(hub.app);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (/SECRET|KEY|PASSWORD/.test(name)) recordSecret('hub-config-secret', value);
  }
  return {
    ...hub,
    dataDir,
    logLines,
    async userToken(email, role = 'USER') {
      const user =
        (await hub.repos.users.findByEmail(email)) ?? (await hub.repos.users.create({ email, role }));
      const token = await hub.identity.issueToken(user);
      recordSecret('hub-bearer-token', token);
      return token;
    },
    async dispose() {
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
