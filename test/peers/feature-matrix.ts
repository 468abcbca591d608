import { fileURLToPath } from 'node:url';
import type { StdioCommand } from './everything.js';

/** Absolute path of the feature table's stdio server (see feature-matrix-server.mjs). */
export const FEATURE_MATRIX_SCRIPT = fileURLToPath(new URL('./feature-matrix-server.mjs', import.meta.url));

/**
 * Command line of the stdio MCP server with paged tools, a tool carrying icons, annotations and an
 * output schema, a cancellable tool and a server→client ping. `protocol` makes it answer
 * `initialize` with that (older) version only.
 */
export function featureMatrixCommand(protocol?: string): StdioCommand {
  const args = [FEATURE_MATRIX_SCRIPT, ...(protocol === undefined ? [] : [`--protocol=${protocol}`])];
  return { command: process.execPath, args };
}
