import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataService } from 'librechat-data-provider';
import { describe, expect, it } from 'vitest';

/**
 * Every MCP-related function of LibreChat's client data layer (the pinned `librechat-data-provider`),
 * with the suite that calls it against a real hub. A function the package adds in a later version
 * and whose name says MCP fails the first check until it is listed here and tested.
 */
const COVERED: Record<string, string> = {
  // Connections, OAuth and the caller's variables.
  getMCPTools: 'test/librechat-client.test.ts',
  reinitializeMCPServer: 'test/librechat-client.test.ts',
  bindMCPOAuth: 'test/librechat-client.test.ts',
  getMCPConnectionStatus: 'test/librechat-client.test.ts',
  getMCPServerConnectionStatus: 'test/librechat-client.test.ts',
  getMCPAuthValues: 'test/librechat-client.test.ts',
  cancelMCPOAuth: 'test/librechat-client.test.ts',
  getMCPOAuthStatus: 'test/librechat-client.test.ts',
  // Users' own servers.
  getMCPServers: 'test/librechat-servers.test.ts',
  getMCPServer: 'test/librechat-servers.test.ts',
  createMCPServer: 'test/librechat-servers.test.ts',
  updateMCPServer: 'test/librechat-servers.test.ts',
  deleteMCPServer: 'test/librechat-servers.test.ts',
  // Sharing: the access-permission routes for resource type `mcpServer`.
  getResourcePermissions: 'test/librechat-permissions.test.ts',
  updateResourcePermissions: 'test/librechat-permissions.test.ts',
  getEffectivePermissions: 'test/librechat-permissions.test.ts',
  getAllEffectivePermissions: 'test/librechat-permissions.test.ts',
  getAccessRoles: 'test/librechat-permissions.test.ts',
  searchPrincipals: 'test/librechat-permissions.test.ts',
  // Roles, the startup config's MCP part, variables saved as a plugin.
  listRoles: 'test/librechat-config.test.ts',
  getRole: 'test/librechat-config.test.ts',
  updateMCPServersPermissions: 'test/librechat-config.test.ts',
  getStartupConfig: 'test/librechat-config.test.ts',
  updateUserPlugins: 'test/librechat-config.test.ts',
};

const ROOT = path.resolve(import.meta.dirname, '..');

describe('librechat-data-provider: every MCP function is covered', () => {
  it('lists every function of the package whose name says MCP', () => {
    const functions = Object.entries(dataService)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name);
    const mcpNamed = functions.filter((name) => /mcp/i.test(name)).sort();
    const listed = new Set(Object.keys(COVERED));
    expect(mcpNamed.filter((name) => !listed.has(name))).toEqual([]);
    // Nothing listed is stale: each is still a function of the package.
    expect([...listed].filter((name) => !functions.includes(name))).toEqual([]);
  });

  it('each listed function is called through the package by the suite named for it', async () => {
    const uncalled: string[] = [];
    for (const [name, file] of Object.entries(COVERED)) {
      const text = await readFile(path.join(ROOT, file), 'utf8');
      if (!new RegExp(`dataService\\.${name}\\(`).test(text)) uncalled.push(`${name} (${file})`);
    }
    expect(uncalled).toEqual([]);
  });
});
