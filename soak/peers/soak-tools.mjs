// @ts-check
/**
 * Tools of the soak's upstream peers (stdio: soak-stdio-server.mjs; streamable HTTP:
 * soak-http-server.mjs). Each fault the soak injects is one call of one of them:
 * - `echo {message}` → `Echo: <message>` (the ordinary traffic);
 * - `crash` → the whole process exits at once, without answering;
 * - `hang` → never answers (the hub's per-server timeout must end the call);
 * - `big {bytes}` → one text block of `bytes` characters (past the hub's result limit).
 */
import process from 'node:process';
import { z } from 'zod';

/** @param {string} text */
const reply = (text) => ({ content: [{ type: /** @type {const} */ ('text'), text }] });

/** @param {import('@modelcontextprotocol/sdk/server/mcp.js').McpServer} server */
export function registerSoakTools(server) {
  server.registerTool(
    'echo',
    { description: 'Echoes the message', inputSchema: { message: z.string() } },
    async ({ message }) => reply(`Echo: ${message}`),
  );
  server.registerTool('crash', { description: 'Exits the process without answering' }, () => {
    process.exit(70);
  });
  server.registerTool(
    'hang',
    { description: 'Never answers' },
    // A promise nobody resolves: the call stays open until the caller gives up.
    () => new Promise(() => {}),
  );
  server.registerTool(
    'big',
    { description: 'A text result of the given size', inputSchema: { bytes: z.number().int().min(0) } },
    async ({ bytes }) => reply('x'.repeat(bytes)),
  );
}
