import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Clock } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { stdioChildEnv } from './child-env.js';
import {
  ProcessGroupStdioTransport,
  type SpawnFunction,
  type StdioTransportOptions,
} from './stdio-transport.js';
import type { FetchLike, UpstreamSpec, WebSocketDialer } from './types.js';
import type { TransportHooks } from './upstream-connection.js';
import { PermanentConnectError } from './upstream-errors.js';
import { PassThroughFetch } from './pass-through-fetch.js';
import { DEFAULT_MAX_RESULT_BYTES } from './result-limit.js';
import { StreamableHttpTransport } from './streamable-http-transport.js';
import { pingUpstream } from './upstream-ping.js';
import { GuardedWebSocketTransport } from './websocket-transport.js';

/** The side effects a transport is built with. */
export interface TransportDeps {
  logger: Logger;
  clock: Clock;
  /** Every HTTP request of the HTTP transports goes through this (the hub's egress guard). */
  fetch: FetchLike;
  /**
   * Opens the socket of a websocket upstream (the hub's egress guard); default: ws connects by
   * itself, unguarded, as the default `fetch` is.
   */
  dialWebSocket?: WebSocketDialer;
  /** The hub's environment, of which a stdio child sees only PATH, HOME, LANG, TZ and TMPDIR. */
  hostEnv: Readonly<Record<string, string | undefined>>;
  spawn?: SpawnFunction;
  /**
   * The largest message taken from the upstream, on every transport (`mcpSettings.maxResultBytes`);
   * a larger one fails the request it answers. Default {@link DEFAULT_MAX_RESULT_BYTES}.
   */
  maxResultBytes?: number;
  /** Limits and grace periods of stdio children (`maxLineBytes` defaults to `maxResultBytes`). */
  stdio?: Pick<
    StdioTransportOptions,
    'maxLineBytes' | 'maxBadLines' | 'stdinGraceMs' | 'termGraceMs' | 'stderr'
  >;
}

/**
 * Builds the client transport for a resolved spec. `hooks.onFault` hears of an upstream that went
 * away in ways the SDK's HTTP transports do not act on (see pass-through-fetch.ts); on streamable HTTP,
 * `hooks.onRelatedRequest` hears which call each server→client request belongs to.
 */
export function createTransport(spec: UpstreamSpec, deps: TransportDeps, hooks: TransportHooks): Transport {
  const { onFault, onRelatedRequest } = hooks;
  const maxResultBytes = deps.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  switch (spec.transport) {
    case 'stdio':
      return new ProcessGroupStdioTransport({
        maxLineBytes: maxResultBytes,
        ...deps.stdio,
        // The values the hub puts in the child's environment (keys, user variables) never reach the log.
        stderr: { ...deps.stdio?.stderr, secrets: Object.values(spec.env) },
        command: spec.command,
        args: spec.args,
        env: stdioChildEnv(deps.hostEnv, spec.env),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        logger: deps.logger,
        clock: deps.clock,
        ...(deps.spawn === undefined ? {} : { spawn: deps.spawn }),
      });
    case 'streamable-http': {
      const stage: PassThroughFetch = new PassThroughFetch(deps.fetch, {
        maxResultBytes,
        logger: deps.logger,
        onFault,
        streamEndIsFault: false,
        // A POST stream answered in the upstream's place is followed by a ping: if the upstream
        // is gone, the fault watch sees that and drops the connection.
        onUnanswered: (url, init) => void pingUpstream(stage.probe, url, init, deps.logger),
        ...(onRelatedRequest ? { onRelatedRequest } : {}),
      });
      return new StreamableHttpTransport({
        url: parseUrl(spec.url),
        headers: spec.headers,
        fetch: stage.fetch,
      });
    }
    case 'sse':
      return new SSEClientTransport(parseUrl(spec.url), {
        // The SSE transport adds requestInit headers to its POSTs and to the event stream's GET.
        requestInit: { headers: { ...spec.headers } },
        fetch: new PassThroughFetch(deps.fetch, {
          maxResultBytes,
          logger: deps.logger,
          onFault,
          streamEndIsFault: true,
        }).fetch,
      });
    case 'websocket':
      return new GuardedWebSocketTransport({
        url: parseUrl(spec.url),
        maxMessageBytes: maxResultBytes,
        ...(deps.dialWebSocket === undefined ? {} : { dial: deps.dialWebSocket }),
        onFault,
        logger: deps.logger,
      });
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    // The URL itself is not logged: it may carry a key in its query.
    throw new PermanentConnectError('the MCP server URL is not a valid URL');
  }
}
