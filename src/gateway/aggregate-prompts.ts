import type { Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Identity } from '../auth/index.js';
import type { GatewayDeps } from './aggregate-catalog.js';
import { connectedWith, listAll } from './connected-servers.js';
import { assignExposedNames } from './names.js';
import { refOf, trustOf, type ServerRef } from './server-ref.js';

/** What an exposed prompt name stands for: a server and the prompt's name on it. */
export interface PromptBinding {
  server: ServerRef;
  promptName: string;
}

/** One prompt as a downstream client sees it, and what its name stands for. */
export interface CatalogPrompt {
  exposed: string;
  binding: PromptBinding;
  prompt: Prompt;
}

/** A prompt as an MCP server lists it: an object with a string name; the rest is the server's own. */
function isNamed(item: Record<string, unknown>): item is Prompt {
  return typeof item.name === 'string';
}

/**
 * The prompts of every server the caller may use and is authenticated for (connected first when
 * needed, as for resources), every page of each,
 * named over the whole list by the same rule as tools (one name per prompt, the caller's own and
 * the admin's servers first). A prompt without a string name is left out: it could not be got.
 */
export async function promptCatalog(deps: GatewayDeps, caller: Identity): Promise<CatalogPrompt[]> {
  const items = [];
  for (const connected of await connectedWith(deps, caller, 'prompts', true)) {
    const server = connected.server;
    const listed = await listAll(connected, 'prompts/list', 'prompts');
    for (const prompt of listed.filter(isNamed)) {
      items.push({
        serverName: server.name,
        name: prompt.name,
        trust: trustOf(server, caller),
        binding: { server: refOf(server), promptName: prompt.name },
        prompt,
      });
    }
  }
  const { named, dropped } = assignExposedNames(items);
  for (const item of dropped) {
    deps.logger.warn(
      { server: item.serverName },
      'prompt left out of the aggregated list: no name of its own',
    );
  }
  return [...named].map(([exposed, item]) => ({
    exposed,
    binding: item.binding,
    prompt: { ...item.prompt, name: exposed },
  }));
}
