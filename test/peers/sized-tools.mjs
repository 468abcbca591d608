// @ts-check
/**
 * Tools of the sized-result peers (stdio: sized-stdio-server.mjs; HTTP and legacy SSE:
 * sized-http-server.ts), for the hub's result-size tests:
 * - `sized {bytes}` → one text block of exactly `bytes` characters;
 * - `held` → waits until `release` is called, then answers `released` (a call kept in flight);
 * - `release` → ends every waiting `held` call;
 * - `echo {message}` → `Echo: <message>`.
 */
import { z } from 'zod';

/**
 * Registers the tools on an SDK `McpServer`; `held` calls wait on state shared by every server
 * built with the same `gate`.
 * @param {import('@modelcontextprotocol/sdk/server/mcp.js').McpServer} server
 * @param {{ waiting: (() => void)[] }} gate
 */
export function registerSizedTools(server, gate) {
  /** @param {string} text */
  const reply = (text) => ({ content: [{ type: /** @type {const} */ ('text'), text }] });
  server.registerTool(
    'sized',
    { description: 'A text result of the given size', inputSchema: { bytes: z.number().int().min(0) } },
    async ({ bytes }) => reply('x'.repeat(bytes)),
  );
  server.registerTool('held', { description: 'Answers once released' }, async () => {
    await new Promise((resolve) => gate.waiting.push(() => resolve(undefined)));
    return reply('released');
  });
  server.registerTool('release', { description: 'Ends every held call' }, async () => {
    const count = gate.waiting.length;
    for (const resolve of gate.waiting.splice(0)) resolve();
    return reply(`released ${count}`);
  });
  server.registerTool(
    'echo',
    { description: 'Echoes the message', inputSchema: { message: z.string() } },
    async ({ message }) => reply(`Echo: ${message}`),
  );
}
