/** Ready-to-paste configurations of common MCP clients for one of the hub's MCP URLs. */

/** One client's configuration: where it goes and the exact text to paste. */
export interface ClientConfig {
  /** Stable id, also the tab's value. */
  id: string;
  /** The client's name, the tab's label. */
  label: string;
  /** Where the text goes, in plain words. */
  where: string;
  /** The text to paste or run. */
  text: string;
  /** A note on what the client needs, if any. */
  note?: string;
}

/** Characters a POSIX shell takes literally in a word. */
const SHELL_SAFE = /^[\w@%+=:,./-]+$/;

/** The URL as one shell word: as it is when nothing in it is special, else in single quotes. */
function shellWord(text: string): string {
  return SHELL_SAFE.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The URL as a YAML scalar: plain when that reads back the same, else double-quoted (JSON is YAML). */
function yamlScalar(text: string): string {
  return /^[\w][\w:/.%?=&@+~-]*$/.test(text) && !text.includes(': ') ? text : JSON.stringify(text);
}

/** Pretty JSON, two spaces, as the clients' own examples are written. */
function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * The configurations for `url`, under the entry name `name` (`switchboard`, or one per server).
 * Each format is the one the client's own documentation gives for a remote (streamable HTTP)
 * server; every client listed finds the hub's sign-in by itself from the URL (MCP authorization).
 */
export function clientConfigs(url: string, name: string): ClientConfig[] {
  return [
    {
      id: 'claude-code',
      label: 'Claude Code',
      where: 'Run in a terminal:',
      text: `claude mcp add --transport http ${shellWord(name)} ${shellWord(url)}`,
    },
    {
      id: 'vscode',
      label: 'VS Code',
      where: 'Add to .vscode/mcp.json in your workspace (or to your user mcp.json):',
      text: json({ servers: { [name]: { type: 'http', url } } }),
    },
    {
      id: 'cursor',
      label: 'Cursor',
      where: 'Add to ~/.cursor/mcp.json (or .cursor/mcp.json in a project):',
      text: json({ mcpServers: { [name]: { url } } }),
    },
    {
      id: 'claude-desktop',
      label: 'Claude Desktop',
      where: 'Add to claude_desktop_config.json (Settings → Developer → Edit Config):',
      text: json({ mcpServers: { [name]: { command: 'npx', args: ['-y', 'mcp-remote', url] } } }),
      note: 'Claude Desktop reaches it through mcp-remote, a local bridge that needs Node.js; the bridge opens your browser to sign in.',
    },
    {
      id: 'librechat',
      label: 'LibreChat',
      where: 'Add to librechat.yaml:',
      text: ['mcpServers:', `  ${name}:`, '    type: streamable-http', `    url: ${yamlScalar(url)}`].join(
        '\n',
      ),
    },
    {
      id: 'inspector',
      label: 'MCP Inspector',
      where: 'Run in a terminal to list the tools:',
      text: `npx @modelcontextprotocol/inspector --cli ${shellWord(url)} --transport http --method tools/list`,
    },
  ];
}
