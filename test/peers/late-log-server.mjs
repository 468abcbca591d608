// @ts-check
/**
 * Stdio MCP server that logs after its calls have answered, for the relay of log messages outside
 * calls (issue 16). Plain JavaScript: it starts fast and needs no loader. Start it with
 * `lateLogCommand()` in late-log.ts.
 *
 * - `logging/setLevel` sets the level its messages are filtered by (none set: every message is sent).
 * - Tool `log-later` `{ text, level = "info", delayMs = 50 }` answers `scheduled` at once, then
 *   `delayMs` later sends one `notifications/message` at `level` whose data is `text` (if the level
 *   set lets it through), with no request to belong to.
 */
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  SetLevelRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];
/** @type {string | undefined} */
let level;

const server = new Server(
  { name: 'switchboard-late-log', version: '1.0.0' },
  { capabilities: { tools: {}, logging: {} } },
);

server.setRequestHandler(SetLevelRequestSchema, (request) => {
  level = request.params.level;
  return {};
});
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    {
      name: 'log-later',
      description: 'Answers at once, then logs `text` at `level` after `delayMs`',
      inputSchema: {
        type: 'object',
        properties: {
          text: { type: 'string' },
          level: { type: 'string', enum: LEVELS },
          delayMs: { type: 'number' },
        },
        required: ['text'],
      },
    },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, (request) => {
  if (request.params.name !== 'log-later')
    throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
  const args = /** @type {{ text: string, level?: string, delayMs?: number }} */ (request.params.arguments);
  const at = /** @type {import('@modelcontextprotocol/sdk/types.js').LoggingLevel} */ (args.level ?? 'info');
  setTimeout(() => {
    if (level !== undefined && LEVELS.indexOf(at) < LEVELS.indexOf(level)) return;
    void server.notification({ method: 'notifications/message', params: { level: at, data: args.text } });
  }, args.delayMs ?? 50);
  return { content: [{ type: 'text', text: 'scheduled' }] };
});

await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
