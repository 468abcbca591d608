import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHubError } from '../errors/index.js';
import { checkConfigFile, loadConfig } from './load-config.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'switchboard-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeConfig(text: string, name = 'switchboard.yaml'): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<unknown> {
  try {
    await loadConfig(options);
  } catch (error) {
    return error;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('runs with no servers when the YAML file is missing', async () => {
    const config = await loadConfig({ env: {}, cwd: dir });
    expect(config.configPath).toBe(path.join(dir, 'switchboard.yaml'));
    expect(config.mcpServers).toEqual({});
    expect(config.mcpSettings.idleTimeout).toBe(15 * 60 * 1000);
    expect(config.roles.USER.MCP_SERVERS.SHARE).toBe(false);
    expect(config.env.port).toBe(3080);
  });

  it('reads the file named by SWITCHBOARD_CONFIG, relative to cwd, expanding from env', async () => {
    await writeConfig(
      'mcpServers:\n  docs:\n    url: https://docs.example.com/mcp\n    headers:\n      Authorization: "Bearer ${DOCS_TOKEN}"\n',
      'hub.yaml',
    );
    const config = await loadConfig({
      env: { SWITCHBOARD_CONFIG: 'hub.yaml', DOCS_TOKEN: 'd0cs' },
      cwd: dir,
    });
    expect(config.configPath).toBe(path.join(dir, 'hub.yaml'));
    expect(config.mcpServers.docs).toEqual({
      type: 'sse',
      url: 'https://docs.example.com/mcp',
      headers: { Authorization: 'Bearer d0cs' },
    });
  });

  it('returns a deeply frozen config', async () => {
    await writeConfig('mcpServers:\n  tool:\n    command: /usr/bin/tool\n    args: [a]\n    env: { A: b }\n');
    const config = await loadConfig({ env: {}, cwd: dir });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.env)).toBe(true);
    expect(Object.isFrozen(config.mcpServers)).toBe(true);
    expect(Object.isFrozen(config.roles.USER.MCP_SERVERS)).toBe(true);
    const tool = config.mcpServers.tool;
    if (tool?.type !== 'stdio') throw new Error('expected a stdio server');
    expect(Object.isFrozen(tool.args)).toBe(true);
    expect(() => tool.args.push('b')).toThrow(TypeError);
    expect(() => {
      (config.mcpSettings as { idleTimeout: number }).idleTimeout = 1;
    }).toThrow(TypeError);
  });

  it('throws HUB_ERR_CONFIG_INVALID with every environment and file issue together', async () => {
    await writeConfig(
      'mcpServers:\n  a:\n    url: https://a.example.com\n    oauth: { clientId: x }\n    bogus: 1\n',
    );
    const error = await loadError({ env: { PORT: 'eighty', LOG_LEVEL: 'loud' }, cwd: dir });
    expect(isHubError(error, 'HUB_ERR_CONFIG_INVALID')).toBe(true);
    if (!isHubError(error)) return;
    expect(error.details).toEqual({
      errors: [
        { path: 'PORT', message: 'must be a whole number from 0 to 65535' },
        { path: 'LOG_LEVEL', message: 'must be one of fatal, error, warn, info, debug, trace, silent' },
        {
          path: 'mcpServers.a.oauth.clientId',
          message: "unknown key 'clientId' (did you mean 'client_id'?)",
          line: 4,
          column: 14,
        },
        { path: 'mcpServers.a.bogus', message: "unknown key 'bogus'", line: 5, column: 5 },
      ],
    });
    expect(error.message).toBe('Configuration is invalid (4 issues)');
  });

  it('reports a YAML syntax error with its position', async () => {
    await writeConfig('mcpServers:\n  a:\n    url: "https://a.example.com\n');
    const error = await loadError({ env: {}, cwd: dir });
    if (!isHubError(error)) throw new Error('expected a HubError');
    const errors = error.details?.errors as { path: string; message: string; line?: number }[];
    expect(errors).toHaveLength(1);
    // The unterminated string runs to the end of the file, where the parser notices.
    expect(errors[0]).toMatchObject({ path: '', line: 4 });
    expect(errors[0]?.message).toMatch(/^YAML: /);
  });

  it('reports a config path that cannot be read as a file', async () => {
    const error = await loadError({ env: { SWITCHBOARD_CONFIG: '.' }, cwd: dir });
    if (!isHubError(error)) throw new Error('expected a HubError');
    expect(error.details?.errors).toEqual([{ path: '', message: `cannot read ${dir} (EISDIR)` }]);
  });
});

describe('checkConfigFile', () => {
  it('passes a good file', async () => {
    const file = await writeConfig('mcpServers:\n  a: { url: https://a.example.com }\n');
    expect(await checkConfigFile(file, {})).toEqual({ ok: true, issues: [], warnings: [] });
  });

  it('lists every issue of a bad file, unset variables included', async () => {
    const file = await writeConfig('mcpServers:\n  tools: { url: "${MCP_URL}" }\n');
    const check = await checkConfigFile(file, {});
    expect(check.ok).toBe(false);
    expect(check.issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      "mcpServers.tools: server name 'tools' is reserved (servers, tools, oauth, connection are route words)",
      'mcpServers.tools.url: environment variable MCP_URL is not set',
      'mcpServers.tools.url: must be an http:// or https:// URL',
    ]);
  });

  it('reports a file that does not exist, since the operator named it', async () => {
    const file = path.join(dir, 'nope.yaml');
    expect(await checkConfigFile(file, {})).toEqual({
      ok: false,
      issues: [{ path: '', message: `file not found: ${file}` }],
      warnings: [],
    });
  });
});

describe('switchboard.example.yaml', () => {
  it('is a valid config once its variables are set', async () => {
    const example = fileURLToPath(new URL('../../switchboard.example.yaml', import.meta.url));
    const env = { DEPLOYMENT_NAME: 'prod', LINEAR_CLIENT_ID: 'id', LINEAR_CLIENT_SECRET: 'secret' };
    expect(await checkConfigFile(example, env)).toEqual({ ok: true, issues: [], warnings: [] });
  });
});
