// @ts-check
/** Stdio MCP peer of the soak (tools in soak-tools.mjs); exits when stdin ends, like most. */
import process from 'node:process';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { registerSoakTools } from './soak-tools.mjs';

const server = new McpServer({ name: 'soak-stdio', version: '1.0.0' });
registerSoakTools(server);
await server.connect(new StdioServerTransport());
process.stdin.on('end', () => process.exit(0));
