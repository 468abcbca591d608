import { describe, expect, it } from 'vitest';
import type { HubConfig } from '../config/index.js';
import { egressAllowlist } from './egress-allowlist.js';

describe('egress allowlist', () => {
  it('adds the admin’s remote servers (host:port) to allowedDomains, never stdio or placeholder URLs', () => {
    const config = {
      mcpSettings: {
        allowedDomains: ['*.corp.example'],
        idleTimeout: 1,
        initTimeout: 1,
        startupConcurrency: 1,
      },
      mcpServers: {
        local: { type: 'streamable-http', url: 'http://127.0.0.1:8123/mcp' },
        tls: { type: 'sse', url: 'https://mcp.internal/sse' },
        perUser: { type: 'streamable-http', url: 'https://{{USER_ID}}.example/mcp' },
        child: { type: 'stdio', command: 'node', args: [] },
      },
    } as unknown as Pick<HubConfig, 'mcpServers' | 'mcpSettings'>; // a partial config is enough here
    expect(egressAllowlist(config).sort()).toEqual(['*.corp.example', '127.0.0.1:8123', 'mcp.internal:443']);
  });
});
