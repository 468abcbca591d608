import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionPool } from '../src/connections/connection-pool.js';
import type { ConnectionOptions, UpstreamSpec } from '../src/connections/types.js';
import { isHubError } from '../src/errors/index.js';
import { createLogger } from '../src/observability/index.js';
import { sizedStdioCommand, startSizedHttpServer, type SizedHttpServer } from './peers/sized-http-server.js';
import { textOf } from './support/mcp-helpers.js';

// Issue 14, finding 2: one result-size limit on every transport, failing only the call concerned.
const LIMIT = 64 * 1024;
const OVER = 4 * LIMIT;
const OPTIONS: ConnectionOptions = { initTimeoutMs: 15_000, requestTimeoutMs: 15_000, idleTimeoutMs: 0 };
const logger = createLogger({ level: 'silent' });

let peer: SizedHttpServer;
let pool: ConnectionPool;
beforeAll(async () => {
  peer = await startSizedHttpServer();
  pool = new ConnectionPool({ logger, hostEnv: process.env, maxResultBytes: LIMIT });
});
afterAll(async () => {
  await pool.close();
  await peer.close();
});

const specs: Record<string, () => UpstreamSpec> = {
  stdio: () => ({ transport: 'stdio', ...sizedStdioCommand(), env: {} }),
  sse: () => ({ transport: 'sse', url: peer.sseUrl, headers: {} }),
  'streamable-http (SSE responses)': () => ({
    transport: 'streamable-http',
    url: peer.streamableUrl,
    headers: {},
  }),
  'streamable-http (JSON responses)': () => ({
    transport: 'streamable-http',
    url: peer.jsonUrl,
    headers: {},
  }),
};

describe('result size limit', () => {
  it.each(Object.keys(specs))(
    '%s: an oversized result fails its own call with HUB_ERR_RESULT_TOO_LARGE; the shared connection and its other calls go on',
    async (name) => {
      const key = `app|${name}`;
      const connection = await pool.acquire(key, 'f1', specs[name]!(), OPTIONS);
      // A call kept in flight on the same connection across the oversized one.
      const held = connection.callTool('held', {});

      const error: unknown = await connection.callTool('sized', { bytes: OVER }).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(isHubError(error)).toBe(true);
      expect(error).toMatchObject({
        code: 'HUB_ERR_RESULT_TOO_LARGE',
        status: 502,
        message: `MCP server result is larger than the ${LIMIT}-byte limit (maxResultBytes)`,
        details: { maxResultBytes: LIMIT },
      });

      // Just under the limit passes; the held call was not failed with it.
      expect(textOf(await connection.callTool('sized', { bytes: LIMIT - 1024 }))).toHaveLength(LIMIT - 1024);
      expect(textOf(await connection.callTool('release', {}))).toBe('released 1');
      expect(textOf(await held)).toBe('released');

      // The same connection serves the next call.
      expect(textOf(await connection.callTool('echo', { message: 'after' }))).toBe('Echo: after');
      expect(connection.closed).toBe(false);
      expect(pool.peek(key)).toBe(connection);
      expect(pool.state(key)).toBe('connected');
    },
  );
});
