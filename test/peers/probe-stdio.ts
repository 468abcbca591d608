import { fileURLToPath } from 'node:url';
import type { StdioCommand } from './everything.js';

/** Absolute path of the stdio probe script (plain JavaScript: no loader, no helper processes). */
export const PROBE_STDIO_SCRIPT = fileURLToPath(new URL('./probe-stdio-server.mjs', import.meta.url));

/** Options of {@link probeStdioCommand}. */
export interface ProbeStdioOptions {
  /** Ignore stdin EOF and SIGTERM, so only SIGKILL ends the probe. */
  readonly stubborn?: boolean;
}

/**
 * Command line of the stdio MCP probe (tools `echo`, `get-env`, `spawn-grandchild`; see
 * probe-stdio-server.mjs). Absolute paths only, so it runs from any working directory.
 */
export function probeStdioCommand(options: ProbeStdioOptions = {}): StdioCommand {
  return {
    command: process.execPath,
    args: [PROBE_STDIO_SCRIPT, ...(options.stubborn === true ? ['--stubborn'] : [])],
  };
}
