// @ts-check
/**
 * Stdio MCP server that answers every request with `notifications/tools/list_changed` first (its
 * `tools/list` answers too), for the hub's refresh-storm tests. Plain JavaScript, like
 * probe-stdio-server.mjs, so it starts fast and spawns nothing.
 *
 * Tools: `echo {message}` → `Echo: <message>`; `list-count` → how many `tools/list` requests it
 * has answered so far.
 */
import process from 'node:process';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server(
  { name: 'switchboard-list-changed-storm', version: '1.0.0' },
  { capabilities: { tools: { listChanged: true } } },
);
let lists = 0;

const TOOLS = [
  {
    name: 'echo',
    description: 'Echoes the message back',
    inputSchema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
  },
  { name: 'list-count', description: 'tools/list requests answered so far', inputSchema: { type: 'object' } },
];

server.setRequestHandler(ListToolsRequestSchema, async () => {
  await server.sendToolListChanged();
  lists += 1;
  return { tools: TOOLS };
});

server.setRequestHandler(CallToolRequestSchema, async (request) => {
  await server.sendToolListChanged();
  const { name, arguments: args } = request.params;
  if (name === 'list-count') return { content: [{ type: 'text', text: String(lists) }] };
  return { content: [{ type: 'text', text: `Echo: ${String(args?.message)}` }] };
});

process.stdin.on('end', () => process.exit(0));
await server.connect(new StdioServerTransport());
