import { fileURLToPath } from 'node:url';
import type { StdioCommand } from './everything.js';

/** Absolute path of the paging stdio server (see paged-content-server.mjs). */
export const PAGED_CONTENT_SCRIPT = fileURLToPath(new URL('./paged-content-server.mjs', import.meta.url));

/**
 * Command line of the stdio MCP server whose resources, templates and prompts come two a page,
 * with `meta-echo` and `chatty` tools and a settable log level (see paged-content-server.mjs).
 */
export function pagedContentCommand(): StdioCommand {
  return { command: process.execPath, args: [PAGED_CONTENT_SCRIPT] };
}
