import { fileURLToPath } from 'node:url';
import type { StdioCommand } from './everything.js';

/** Absolute path of the stdio server that logs after its calls answered (see late-log-server.mjs). */
export const LATE_LOG_SCRIPT = fileURLToPath(new URL('./late-log-server.mjs', import.meta.url));

/** Command line of that server. */
export function lateLogCommand(): StdioCommand {
  return { command: process.execPath, args: [LATE_LOG_SCRIPT] };
}
