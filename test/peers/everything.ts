import { createRequire } from 'node:module';
import path from 'node:path';
import { startLoopbackChild } from './loopback-child.js';

/** The HTTP transports of `@modelcontextprotocol/server-everything`. */
export type EverythingMode = 'sse' | 'streamableHttp';

/** A running server-everything child process. */
export interface RunningEverything {
  /** Endpoint to connect to: `http://127.0.0.1:P/sse` (SSE) or `http://127.0.0.1:P/mcp` (streamable HTTP). */
  readonly url: string;
  /** The child's process id. */
  readonly pid: number;
  /** Kills the child (SIGTERM, then SIGKILL) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** A command line a hub can spawn as a stdio MCP server. */
export interface StdioCommand {
  readonly command: string;
  readonly args: string[];
}

const require = createRequire(import.meta.url);

/** Absolute path of server-everything's `dist/index.js` (the package has no `exports` map). */
export function everythingEntry(): string {
  const manifest = require.resolve('@modelcontextprotocol/server-everything/package.json');
  return path.join(path.dirname(manifest), 'dist', 'index.js');
}

/** `node …/server-everything/dist/index.js stdio`: server-everything as a stdio server. */
export function everythingStdioCommand(): StdioCommand {
  return { command: process.execPath, args: [everythingEntry(), 'stdio'] };
}

/** Polls the endpoint until it gives any HTTP answer, without opening an MCP session. */
async function waitUntilAnswering(url: string, mode: EverythingMode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // GET /sse would open a session; the CORS middleware answers OPTIONS on every path with 204.
  // GET /mcp without a session id is a cheap 400.
  const method = mode === 'sse' ? 'OPTIONS' : 'GET';
  for (;;) {
    try {
      const response = await fetch(url, { method, signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`server-everything at ${url} never answered`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Starts server-everything in an HTTP mode on 127.0.0.1 and a kernel-picked port (`PORT=0`, the
 * loopback preload reports the real port), and resolves once the endpoint answers.
 */
export async function startEverything(mode: EverythingMode): Promise<RunningEverything> {
  const child = await startLoopbackChild({ args: [everythingEntry(), mode], env: { PORT: '0' } });
  const url = `http://127.0.0.1:${child.port}/${mode === 'sse' ? 'sse' : 'mcp'}`;
  try {
    await waitUntilAnswering(url, mode, 10_000);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { url, pid: child.pid, stop: () => child.stop() };
}
