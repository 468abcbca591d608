// @ts-check
/**
 * Stdio MCP server for the feature table's tests (test/feature-matrix.test.ts): the parts of MCP
 * 2025-11-25 that server-everything does not show. Start it through `featureMatrixCommand()` in
 * feature-matrix.ts.
 *
 * - `tools/list` comes two tools a page (a cursor is the index of the page's first tool).
 * - `forecast {city}`: a tool with a title, icons, annotations and an output schema; answers with
 *   `structuredContent` `{city, celsius}` and the same as JSON text.
 * - `wait-for-cancel`: sends one progress notification (when the call carries a progress token),
 *   then waits until the client cancels it; each cancellation is counted.
 * - `cancellations`: the number of cancelled `wait-for-cancel` calls, as text.
 * - `ping-client`: pings its client (server→client ping, MCP basic utilities) and answers `pong`.
 * - `protocol`: the protocol version this server answered `initialize` with.
 * - `change-tools`: adds a tool `added-<n>` at the end of the list and sends
 *   `notifications/tools/list_changed`.
 * - `change-prompts`: adds a prompt and sends `notifications/prompts/list_changed`.
 *
 * `--protocol=<version>` makes it answer `initialize` with that version whatever the client asked,
 * as a server that only speaks an older revision does.
 */
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  LATEST_PROTOCOL_VERSION,
  ListPromptsRequestSchema,
  ListToolsRequestSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const PAGE_SIZE = 2;
const INFO = { name: 'switchboard-feature-matrix', version: '1.0.0' };
const CAPABILITIES = { tools: { listChanged: true }, prompts: { listChanged: true } };
const forced = process.argv.find((arg) => arg.startsWith('--protocol='))?.slice('--protocol='.length);

const tools = [
  {
    name: 'forecast',
    title: 'Forecast',
    description: 'The weather in a city, as structured content',
    icons: [{ src: 'https://example.com/sun.png', mimeType: 'image/png', sizes: ['48x48'] }],
    annotations: { readOnlyHint: true, openWorldHint: false },
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    outputSchema: {
      type: 'object',
      properties: { city: { type: 'string' }, celsius: { type: 'number' } },
      required: ['city', 'celsius'],
    },
  },
  { name: 'wait-for-cancel', description: 'Waits until cancelled', inputSchema: { type: 'object' } },
  { name: 'cancellations', description: 'How many calls were cancelled', inputSchema: { type: 'object' } },
  { name: 'ping-client', description: 'Pings the client', inputSchema: { type: 'object' } },
  { name: 'protocol', description: 'The protocol version answered', inputSchema: { type: 'object' } },
  { name: 'change-tools', description: 'Adds a tool', inputSchema: { type: 'object' } },
  { name: 'change-prompts', description: 'Adds a prompt', inputSchema: { type: 'object' } },
];
const prompts = [{ name: 'weather-report', description: 'A weather report' }];

let answered = LATEST_PROTOCOL_VERSION;
let cancelled = 0;

const server = new Server(INFO, { capabilities: CAPABILITIES });

if (forced !== undefined) {
  // A server of an older revision knows only its own version, and says so whatever was asked.
  server.setRequestHandler(InitializeRequestSchema, () => {
    answered = forced;
    return { protocolVersion: forced, capabilities: CAPABILITIES, serverInfo: INFO };
  });
}

server.setRequestHandler(ListToolsRequestSchema, (request) => {
  const cursor = request.params?.cursor;
  const start = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(start) || start < 0 || start >= tools.length) {
    throw new McpError(ErrorCode.InvalidParams, 'unknown cursor');
  }
  const end = start + PAGE_SIZE;
  return { tools: tools.slice(start, end), ...(end < tools.length ? { nextCursor: String(end) } : {}) };
});

server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts }));
server.setRequestHandler(GetPromptRequestSchema, (request) => ({
  messages: [{ role: 'user', content: { type: 'text', text: `prompt ${request.params.name}` } }],
}));

/** Resolves when `signal` aborts, counting the cancellation. */
function untilCancelled(/** @type {AbortSignal} */ signal) {
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      cancelled += 1;
      resolve(undefined);
    });
  });
}

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const text = (/** @type {string} */ value) => ({ content: [{ type: 'text', text: value }] });
  switch (request.params.name) {
    case 'forecast': {
      const city = request.params.arguments?.city;
      const report = { city: typeof city === 'string' ? city : '', celsius: 21 };
      return { ...text(JSON.stringify(report)), structuredContent: report };
    }
    case 'wait-for-cancel': {
      const progressToken = request.params._meta?.progressToken;
      if (progressToken !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: 0, message: 'waiting to be cancelled' },
        });
      }
      await untilCancelled(extra.signal);
      return text('cancelled');
    }
    case 'cancellations':
      return text(String(cancelled));
    case 'ping-client':
      await server.ping();
      return text('pong');
    case 'protocol':
      return text(answered);
    case 'change-tools': {
      const name = `added-${tools.length}`;
      tools.push({ name, description: 'Added at run time', inputSchema: { type: 'object' } });
      await server.sendToolListChanged();
      return text(name);
    }
    case 'change-prompts':
      prompts.push({ name: `added-${prompts.length}`, description: 'Added at run time' });
      await server.sendPromptListChanged();
      return text(`${prompts.length} prompts`);
    default:
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
  }
});

await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
