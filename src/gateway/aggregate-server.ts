import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { ConnectionPool } from '../connections/index.js';
import type { GatewayDeps } from './aggregate-catalog.js';
import { registerContentHandlers } from './aggregate-content.js';
import { registerResourceHandlers } from './aggregate-resources.js';
import { AGGREGATE_TASKS, registerTaskHandlers } from './aggregate-tasks.js';
import { registerToolHandlers } from './aggregate-tools.js';
import type { InCallAuthorizationDeps } from './authorize-in-call.js';
import type { ResourceSubscriptions } from './resource-subscriptions.js';
import { sharedSchemaValidator } from './schema-validator.js';

/** Deps of the aggregated session server. */
export interface AggregateDeps extends GatewayDeps, InCallAuthorizationDeps {
  /** Whose log messages outside calls reach the session (session-logs.ts); none without it. */
  pool?: Pick<ConnectionPool, 'onLogMessage'>;
}

const SERVER_INFO = { name: 'switchboard', version: '0.1.0' };

/**
 * One SDK server per downstream session (never shared: a shared instance leaks responses between
 * clients, CVE-2026-25536), exposing every tool, resource, resource template and prompt the caller
 * may use, namespaced by server, and routing each call to the right upstream with the caller's own
 * credentials. `subscriptions` is the instance's, shared by its sessions (upstream connections are);
 * the session's own end when it closes.
 *
 * Every request is answered as the caller authenticated for the HTTP request that carried it, and
 * against the registry as it is now: the session remembers only which server and tool each name it
 * showed stands for, never an identity or a server's config. A demoted user, a revoked share, a
 * removed group member or a deleted server is refused on the next request, on any instance.
 */
export function createAggregateServer(deps: AggregateDeps, subscriptions: ResourceSubscriptions): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
      tasks: AGGREGATE_TASKS,
    },
    jsonSchemaValidator: sharedSchemaValidator,
    instructions: 'Tools of every MCP server you may use through Switchboard, named <server>__<tool>.',
  });
  registerToolHandlers(server, deps);
  registerContentHandlers(server, deps);
  registerTaskHandlers(server, deps);
  const endSubscriptions = registerResourceHandlers(server, deps, subscriptions);
  server.onclose = endSubscriptions;
  return server;
}
