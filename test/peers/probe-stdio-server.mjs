// @ts-check
/**
 * Stdio MCP probe for the hub's process tests. Plain JavaScript on purpose: it starts fast, needs
 * no loader and spawns no helper process (tsx would add an esbuild service child), so every child
 * it has is one a tool asked for. Start it through `probeStdioCommand()` in probe-stdio.ts.
 *
 * Tools: `echo {message}` → `Echo: <message>`; `get-env` → JSON of its whole environment;
 * `spawn-grandchild` → starts a long-lived `node -e "setInterval(…)"` child, not detached, so it
 * stays in the probe's process group, and answers `{"pid": <pid>}`.
 *
 * With `PROBE_API_KEY` in its environment it prints that key on stderr at start.
 *
 * It exits when stdin ends, like most stdio servers. With `--stubborn` it ignores both stdin EOF
 * and SIGTERM, so only SIGKILL ends it (for the hub's kill-escalation tests).
 */
import { spawn } from 'node:child_process';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const stubborn = process.argv.includes('--stubborn');

// Like a careless server: says which key it was given, on stderr (the hub must mask it in its log).
if (process.env.PROBE_API_KEY) process.stderr.write(`starting with api key ${process.env.PROBE_API_KEY}\n`);

/**
 * @param {string} value
 * @returns {{ content: { type: 'text', text: string }[] }}
 */
function text(value) {
  return { content: [{ type: 'text', text: value }] };
}

const server = new McpServer({ name: 'switchboard-probe-stdio', version: '1.0.0' });

server.registerTool(
  'echo',
  { description: 'Echoes the message back', inputSchema: { message: z.string() } },
  ({ message }) => text(`Echo: ${message}`),
);

server.registerTool('get-env', { description: 'Returns this process environment as JSON' }, () =>
  text(JSON.stringify(process.env)),
);

server.registerTool(
  'spawn-grandchild',
  { description: 'Starts a long-lived child process; returns its pid' },
  () => {
    const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    // Keep no reference alive: the grandchild must outlive us unless someone kills our process group.
    grandchild.unref();
    return text(JSON.stringify({ pid: grandchild.pid }));
  },
);

if (stubborn) {
  process.on('SIGTERM', () => {});
  setInterval(() => {}, 1 << 30); // stay alive after stdin ends
} else {
  process.stdin.once('end', () => process.exit(0));
}

await server.connect(new StdioServerTransport());
