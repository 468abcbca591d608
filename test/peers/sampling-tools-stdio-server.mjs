// @ts-check
/**
 * Stdio MCP server whose tool asks the client's model with tools (MCP 2025-11-25 sampling with
 * `tools` and `toolChoice`), for the hub's session-bound connection tests. The SDK's server refuses
 * to send such a request unless the client declared `sampling.tools`, so a reply proves the
 * client's own capability reached this server.
 *
 * Tool: `ask-with-tools {question}` → `Model chose: <tool name>` (or `Model said: <text>`).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'switchboard-sampling-tools', version: '1.0.0' });

server.registerTool(
  'ask-with-tools',
  { description: "Asks the client's model, offering it a tool", inputSchema: { question: z.string() } },
  async ({ question }) => {
    const result = await server.server.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: question } }],
      maxTokens: 50,
      tools: [{ name: 'lookup', description: 'Looks a word up', inputSchema: { type: 'object' } }],
      toolChoice: { mode: 'auto' },
    });
    const parts = Array.isArray(result.content) ? result.content : [result.content];
    const used = parts.find((part) => part.type === 'tool_use');
    const said = parts.find((part) => part.type === 'text');
    const text = used ? `Model chose: ${used.name}` : `Model said: ${said?.text ?? ''}`;
    return { content: [{ type: 'text', text }] };
  },
);

await server.connect(new StdioServerTransport());
