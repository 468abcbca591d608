import type { ExplorerTool } from './explorer-api.ts';

/** The name a tool goes by: its title when it has one, else its name. */
export function displayName(tool: ExplorerTool): string {
  return tool.title ?? tool.annotations?.title ?? tool.name;
}

/** The path of a tool's page. */
export function toolPath(serverName: string, toolName: string): string {
  return `/explorer/${encodeURIComponent(serverName)}/${encodeURIComponent(toolName)}`;
}
