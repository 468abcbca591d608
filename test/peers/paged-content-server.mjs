// @ts-check
/**
 * Stdio MCP server that pages its lists, for the REST content routes' tests (server-everything
 * answers every list in one page). Plain JavaScript: it starts fast and needs no loader. Start it
 * through `pagedContentCommand()` in paged-content.ts.
 *
 * - `resources/list`: `paged://item/1` … `paged://item/5`, two a page; `resources/templates/list`:
 *   three templates, two a page; `prompts/list`: three prompts, two a page. A cursor is the index of
 *   the page's first item as a string; an unknown cursor is refused (-32602).
 * - `resources/read` of `paged://item/N` gives `item N`; of `paged://slow` never answers until the
 *   client cancels it; of `paged://slow-reads` gives `{started, cancelled}` counts of those slow
 *   reads as JSON text; of `paged://meta` gives the request's `_meta` as JSON text and as the
 *   result's `_meta.received` (unlisted, like the slow ones); any other URI is refused (-32002).
 * - `prompts/get` answers `prompt <name>`, with the request's `_meta` as the result's `_meta.received`.
 * - `logging/setLevel` sets the level its log messages are filtered by (default `info`).
 * - Tools: `meta-echo` answers with the `_meta` it was called with, as text and as the result's
 *   `_meta.received`; `chatty` sends one log message at each of `debug`, `info` and `error` (those at
 *   or above the level) during the call, then answers `level: <level>`.
 */
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const PAGE_SIZE = 2;
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

const resources = [1, 2, 3, 4, 5].map((n) => ({ uri: `paged://item/${n}`, name: `item ${n}` }));
const templates = ['a', 'b', 'c'].map((x) => ({ uriTemplate: `paged://${x}/{id}`, name: `template ${x}` }));
const prompts = ['first', 'second', 'third'].map((name) => ({ name, description: `the ${name} prompt` }));

/**
 * @template T
 * @param {T[]} items
 * @param {string | undefined} cursor
 * @returns {{ page: T[], nextCursor?: string }}
 */
function pageOf(items, cursor) {
  const start = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(start) || start < 0 || start >= items.length) {
    throw new McpError(ErrorCode.InvalidParams, `unknown cursor`);
  }
  const end = start + PAGE_SIZE;
  return { page: items.slice(start, end), ...(end < items.length ? { nextCursor: String(end) } : {}) };
}

let level = 'info';

const server = new Server(
  { name: 'switchboard-paged-content', version: '1.0.0' },
  { capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} } },
);

server.setRequestHandler(ListResourcesRequestSchema, (request) => {
  const { page, nextCursor } = pageOf(resources, request.params?.cursor);
  return { resources: page, ...(nextCursor === undefined ? {} : { nextCursor }) };
});
server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => {
  const { page, nextCursor } = pageOf(templates, request.params?.cursor);
  return { resourceTemplates: page, ...(nextCursor === undefined ? {} : { nextCursor }) };
});
server.setRequestHandler(ListPromptsRequestSchema, (request) => {
  const { page, nextCursor } = pageOf(prompts, request.params?.cursor);
  return { prompts: page, ...(nextCursor === undefined ? {} : { nextCursor }) };
});
/** Reads of `paged://slow` begun, and those that ended because the client cancelled them. */
const slowReads = { started: 0, cancelled: 0 };

server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
  const uri = request.params.uri;
  if (uri === 'paged://slow-reads') {
    return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(slowReads) }] };
  }
  if (uri === 'paged://meta') {
    const received = request.params._meta ?? {};
    return {
      contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(received) }],
      _meta: { received },
    };
  }
  if (uri === 'paged://slow') {
    slowReads.started += 1;
    await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
    slowReads.cancelled += 1;
    throw new McpError(ErrorCode.RequestTimeout, 'cancelled');
  }
  if (!resources.some((r) => r.uri === uri)) throw new McpError(-32002, `Resource not found: ${uri}`);
  return { contents: [{ uri, mimeType: 'text/plain', text: `item ${uri.slice('paged://item/'.length)}` }] };
});
server.setRequestHandler(GetPromptRequestSchema, (request) => ({
  messages: [{ role: 'user', content: { type: 'text', text: `prompt ${request.params.name}` } }],
  _meta: { received: request.params._meta ?? {} },
}));
server.setRequestHandler(SetLevelRequestSchema, (request) => {
  level = request.params.level;
  return {};
});
server.setRequestHandler(ListToolsRequestSchema, () => ({
  tools: [
    {
      name: 'meta-echo',
      description: 'Answers with the _meta it was called with',
      inputSchema: { type: 'object' },
    },
    {
      name: 'chatty',
      description: 'Logs at debug, info and error, then answers',
      inputSchema: { type: 'object' },
    },
  ],
}));
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  if (request.params.name === 'meta-echo') {
    const received = request.params._meta ?? {};
    return { content: [{ type: 'text', text: JSON.stringify(received) }], _meta: { received } };
  }
  if (request.params.name === 'chatty') {
    for (const at of ['debug', 'info', 'error']) {
      if (LEVELS.indexOf(at) < LEVELS.indexOf(level)) continue;
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level: at, logger: 'chatty', data: `${at} message` },
      });
    }
    return { content: [{ type: 'text', text: `level: ${level}` }] };
  }
  throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
});

await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
