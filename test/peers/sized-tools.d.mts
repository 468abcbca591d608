import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** Registers `sized`, `held`, `release` and `echo` (see sized-tools.mjs); `held` waits on `gate`. */
export function registerSizedTools(server: McpServer, gate: { waiting: (() => void)[] }): void;
