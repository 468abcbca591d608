// @ts-check
/**
 * Stdio MCP server that floods its stderr, for the hub's log-bound tests. Plain JavaScript, like
 * probe-stdio-server.mjs, so it starts fast and spawns nothing.
 *
 * Tools: `echo {message}` → `Echo: <message>`; `flood {lines, lineBytes}` writes `lines` lines of
 * about `lineBytes` bytes each to stderr (every one says "error", so a hub logging by severity
 * would log them loudly), then one line of 1 MiB, and answers `flooded <lines>` once all are written.
 * It exits when stdin ends.
 */
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

/**
 * @param {string} value
 * @returns {{ content: { type: 'text', text: string }[] }}
 */
function text(value) {
  return { content: [{ type: 'text', text: value }] };
}

/**
 * Writes one chunk and resolves once the stream took it (waits for drain when it is full).
 * @param {string} chunk
 * @returns {Promise<void>}
 */
function write(chunk) {
  return new Promise((resolve, reject) => {
    process.stderr.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
}

const server = new McpServer({ name: 'switchboard-stderr-flood', version: '1.0.0' });

server.registerTool(
  'echo',
  { description: 'Echoes the message back', inputSchema: { message: z.string() } },
  ({ message }) => text(`Echo: ${message}`),
);

server.registerTool(
  'flood',
  {
    description: 'Writes many lines to stderr, then answers',
    inputSchema: { lines: z.number().int().min(1), lineBytes: z.number().int().min(10) },
  },
  async ({ lines, lineBytes }) => {
    const batch = 500;
    for (let sent = 0; sent < lines; sent += batch) {
      let chunk = '';
      for (let i = sent; i < Math.min(lines, sent + batch); i += 1) {
        const head = `error: flood line ${i} `;
        chunk += `${head}${'x'.repeat(Math.max(0, lineBytes - head.length))}\n`;
      }
      await write(chunk);
    }
    await write(`error: one long line ${'y'.repeat(1024 * 1024)}\n`);
    return text(`flooded ${lines}`);
  },
);

process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
