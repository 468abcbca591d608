// @ts-check
/**
 * Stdio MCP peer with the tools of sized-tools.mjs (a result of any size on demand). Plain
 * JavaScript so it starts with `node` alone; it exits when stdin ends.
 */
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { registerSizedTools } from './sized-tools.mjs';

const server = new McpServer({ name: 'sized-stdio', version: '1.0.0' });
registerSizedTools(server, { waiting: [] });
await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
