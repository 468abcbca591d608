import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  StreamableHTTPServerTransport,
  type EventStore,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type CallToolResult,
  type ElicitRequest,
  type GetPromptResult,
  type JSONRPCMessage,
  type LoggingLevel,
  type ReadResourceResult,
  type ServerNotification,
  type ServerRequest,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';

/** A running fixture server for `conformance server`. */
export interface ConformanceFixtures {
  /** The MCP endpoint, `http://127.0.0.1:P/mcp`. */
  readonly url: string;
  /** MCP sessions currently open. */
  readonly sessions: number;
  /** Closes every session and socket and stops listening. */
  stop(): Promise<void>;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const MCP_PATH = '/mcp';
/** How long a client that lost a stream should wait before resuming it (SEP-1699 `retry`). */
const RETRY_MS = 200;
/** Events a session keeps for resumption; older ones are dropped (a bound, not a feature). */
const MAX_EVENTS_PER_SESSION = 500;

/** A 1×1 red pixel, PNG (generated for this file with zlib: IHDR 1×1 RGB, one deflated row). */
const RED_PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';

/** A valid, silent WAV: PCM, mono, 8 kHz, 16-bit, eight samples. */
function silentWav(): string {
  const samples = 8;
  const dataBytes = samples * 2;
  const wav = Buffer.alloc(44 + dataBytes);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + dataBytes, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24); // sample rate
  wav.writeUInt32LE(8000 * 2, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(dataBytes, 40);
  return wav.toString('base64');
}
const SILENT_WAV = silentWav();

const noArguments = { type: 'object', properties: {} } as const;
const oneString = (name: string, description: string) =>
  ({ type: 'object', properties: { [name]: { type: 'string', description } }, required: [name] }) as const;

/** The tools the scenarios call by name (descriptions are required by `tools-list`). */
const TOOLS: Tool[] = [
  { name: 'test_simple_text', description: 'Returns one text item', inputSchema: noArguments },
  { name: 'test_image_content', description: 'Returns a PNG image', inputSchema: noArguments },
  { name: 'test_audio_content', description: 'Returns a WAV clip', inputSchema: noArguments },
  { name: 'test_embedded_resource', description: 'Returns an embedded resource', inputSchema: noArguments },
  {
    name: 'test_multiple_content_types',
    description: 'Returns text, an image and a resource',
    inputSchema: noArguments,
  },
  {
    name: 'test_tool_with_logging',
    description: 'Logs three messages while running',
    inputSchema: noArguments,
  },
  { name: 'test_error_handling', description: 'Always fails (isError)', inputSchema: noArguments },
  { name: 'test_tool_with_progress', description: 'Reports progress 0, 50, 100', inputSchema: noArguments },
  {
    name: 'test_sampling',
    description: 'Asks the client for an LLM completion',
    inputSchema: oneString('prompt', 'The prompt to send to the LLM'),
  },
  {
    name: 'test_elicitation',
    description: 'Asks the user for a username and an email',
    inputSchema: oneString('message', 'The message to show the user'),
  },
  {
    name: 'test_elicitation_sep1034_defaults',
    description: 'Elicitation whose fields carry defaults (SEP-1034)',
    inputSchema: noArguments,
  },
  {
    name: 'test_elicitation_sep1330_enums',
    description: 'Elicitation with the five enum shapes (SEP-1330)',
    inputSchema: noArguments,
  },
  {
    name: 'json_schema_2020_12_tool',
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: {
        address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } },
      },
      properties: { name: { type: 'string' }, address: { $ref: '#/$defs/address' } },
      additionalProperties: false,
    },
  },
  {
    name: 'test_reconnection',
    description: 'Closes its SSE stream mid-call and answers after the client resumes (SEP-1699)',
    inputSchema: noArguments,
  },
];

const STATIC_TEXT = 'This is the content of the static text resource.';
const RESOURCES = [
  {
    uri: 'test://static-text',
    name: 'static-text',
    description: 'A fixed text resource',
    mimeType: 'text/plain',
  },
  {
    uri: 'test://static-binary',
    name: 'static-binary',
    description: 'A fixed PNG resource',
    mimeType: 'image/png',
  },
  {
    uri: 'test://watched-resource',
    name: 'watched-resource',
    description: 'A resource clients may subscribe to',
    mimeType: 'text/plain',
  },
];
const TEMPLATE = /^test:\/\/template\/([^/]+)\/data$/;

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A prompt without arguments' },
  {
    name: 'test_prompt_with_arguments',
    description: 'A prompt with two arguments',
    arguments: [
      { name: 'arg1', description: 'First test argument', required: true },
      { name: 'arg2', description: 'Second test argument', required: true },
    ],
  },
  {
    name: 'test_prompt_with_embedded_resource',
    description: 'A prompt that embeds a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed', required: true }],
  },
  { name: 'test_prompt_with_image', description: 'A prompt with an image' },
];
const COMPLETIONS = ['paris', 'park', 'party', 'test', 'testing', 'tested'];

const text = (value: string): CallToolResult => ({ content: [{ type: 'text', text: value }] });

/** The SEP-1034 form: one field of each primitive type, each with a default. */
const DEFAULTS_FORM: ElicitRequest['params'] = {
  message: 'Confirm or change the defaults',
  requestedSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: 'John Doe' },
      age: { type: 'integer', default: 30 },
      score: { type: 'number', default: 95.5 },
      status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', default: true },
    },
  },
};

/** The SEP-1330 form: untitled, titled and legacy single-selects; untitled and titled multi-selects. */
const ENUMS_FORM: ElicitRequest['params'] = {
  message: 'Pick some options',
  requestedSchema: {
    type: 'object',
    properties: {
      untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
      titledSingle: {
        type: 'string',
        oneOf: [
          { const: 'value1', title: 'First Option' },
          { const: 'value2', title: 'Second Option' },
          { const: 'value3', title: 'Third Option' },
        ],
      },
      legacyEnum: {
        type: 'string',
        enum: ['opt1', 'opt2', 'opt3'],
        enumNames: ['Option One', 'Option Two', 'Option Three'],
      },
      untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
      titledMulti: {
        type: 'array',
        items: {
          anyOf: [
            { const: 'value1', title: 'First Choice' },
            { const: 'value2', title: 'Second Choice' },
            { const: 'value3', title: 'Third Choice' },
          ],
        },
      },
    },
  },
};

/**
 * Events of one session, for resuming a stream after `Last-Event-ID` (SEP-1699). Priming events
 * (stored as `{}`) mark a stream's start and are never replayed.
 */
function memoryEventStore(): EventStore {
  const events: { id: string; streamId: string; message: JSONRPCMessage }[] = [];
  let counter = 0;
  const streamOf = (eventId: string) => events.find((event) => event.id === eventId)?.streamId;
  return {
    storeEvent: async (streamId, message) => {
      counter += 1;
      const id = `${streamId}.${counter}`;
      events.push({ id, streamId, message });
      if (events.length > MAX_EVENTS_PER_SESSION) events.shift();
      return id;
    },
    getStreamIdForEventId: async (eventId) => streamOf(eventId),
    replayEventsAfter: async (lastEventId, { send }) => {
      const streamId = streamOf(lastEventId);
      if (streamId === undefined) throw new Error(`unknown event id ${lastEventId}`);
      const start = events.findIndex((event) => event.id === lastEventId) + 1;
      for (const event of events.slice(start)) {
        if (event.streamId === streamId && 'jsonrpc' in event.message) await send(event.id, event.message);
      }
      return streamId;
    },
  };
}

/** One session's MCP server: every fixture of the `conformance server` scenarios. */
function createFixtureServer(): Server {
  const server = new Server(
    { name: 'switchboard-conformance-fixtures', version: '1.0.0' },
    {
      capabilities: {
        tools: {},
        resources: { subscribe: true },
        prompts: {},
        logging: {},
        completions: {},
      },
    },
  );
  // One server per session, so the session's log level is simply this variable.
  let logLevel: LoggingLevel = 'debug';
  const severity = (level: LoggingLevel) => LoggingLevelSchema.options.indexOf(level);
  const subscriptions = new Set<string>();

  server.removeRequestHandler(SetLevelRequestSchema.shape.method.value);
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    logLevel = request.params.level;
    return {};
  });

  const log = (extra: Extra, data: string): Promise<void> =>
    severity('info') < severity(logLevel)
      ? Promise.resolve()
      : extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });

  const elicit = async (extra: Extra, params: ElicitRequest['params']): Promise<CallToolResult> => {
    if (server.getClientCapabilities()?.elicitation === undefined) {
      return { isError: true, content: [{ type: 'text', text: 'The client does not support elicitation' }] };
    }
    const answer = await extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema);
    return text(
      `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`,
    );
  };

  const callTool = async (name: string, args: Record<string, unknown>, extra: Extra) => {
    switch (name) {
      case 'test_simple_text':
        return text('This is a simple text response for testing.');
      case 'test_image_content':
        return { content: [{ type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' }] };
      case 'test_audio_content':
        return { content: [{ type: 'audio', data: SILENT_WAV, mimeType: 'audio/wav' }] };
      case 'test_embedded_resource':
        return {
          content: [
            {
              type: 'resource',
              resource: {
                uri: 'test://embedded-resource',
                mimeType: 'text/plain',
                text: 'This is an embedded resource content.',
              },
            },
          ],
        };
      case 'test_multiple_content_types':
        return {
          content: [
            { type: 'text', text: 'Multiple content types test:' },
            { type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' },
            {
              type: 'resource',
              resource: {
                uri: 'test://mixed-content-resource',
                mimeType: 'application/json',
                text: JSON.stringify({ test: 'data', value: 123 }),
              },
            },
          ],
        };
      case 'test_tool_with_logging':
        await log(extra, 'Tool execution started');
        await delay(50);
        await log(extra, 'Tool processing data');
        await delay(50);
        await log(extra, 'Tool execution completed');
        return text('Tool with logging executed successfully');
      case 'test_error_handling':
        return {
          isError: true,
          content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }],
        };
      case 'test_tool_with_progress': {
        const progressToken = extra._meta?.progressToken;
        for (const progress of [0, 50, 100]) {
          if (progress > 0) await delay(50);
          if (progressToken !== undefined) {
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress, total: 100 },
            });
          }
        }
        return text('Tool with progress executed successfully');
      }
      case 'test_sampling': {
        if (server.getClientCapabilities()?.sampling === undefined) {
          return { isError: true, content: [{ type: 'text', text: 'The client does not support sampling' }] };
        }
        const prompt = typeof args.prompt === 'string' ? args.prompt : '';
        const answer = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
          },
          CreateMessageResultSchema,
        );
        const reply = answer.content.type === 'text' ? answer.content.text : `[${answer.content.type}]`;
        return text(`LLM response: ${reply}`);
      }
      case 'test_elicitation':
        return elicit(extra, {
          message: typeof args.message === 'string' ? args.message : 'Please provide your information',
          requestedSchema: {
            type: 'object',
            properties: {
              username: { type: 'string', description: "User's response" },
              email: { type: 'string', description: "User's email address" },
            },
            required: ['username', 'email'],
          },
        });
      case 'test_elicitation_sep1034_defaults':
        return elicit(extra, DEFAULTS_FORM);
      case 'test_elicitation_sep1330_enums':
        return elicit(extra, ENUMS_FORM);
      case 'json_schema_2020_12_tool':
        return text(`Received ${JSON.stringify(args)}`);
      case 'test_reconnection':
        // Only offered to clients that can resume (protocol ≥ 2025-11-25, an event store here):
        // the answer goes to the event store and reaches the client when it comes back.
        if (extra.closeSSEStream !== undefined) {
          await delay(50);
          extra.closeSSEStream();
          await delay(RETRY_MS + 100);
        }
        return text('Reconnection test completed');
      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(
    CallToolRequestSchema,
    async (request, extra): Promise<CallToolResult> =>
      (await callTool(request.params.name, request.params.arguments ?? {}, extra)) as CallToolResult,
  );

  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [
      {
        uriTemplate: 'test://template/{id}/data',
        name: 'template-data',
        description: 'Data for one id',
        mimeType: 'application/json',
      },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, ({ params: { uri } }): ReadResourceResult => {
    if (uri === 'test://static-text')
      return { contents: [{ uri, mimeType: 'text/plain', text: STATIC_TEXT }] };
    if (uri === 'test://static-binary')
      return { contents: [{ uri, mimeType: 'image/png', blob: RED_PIXEL_PNG }] };
    if (uri === 'test://watched-resource') {
      return { contents: [{ uri, mimeType: 'text/plain', text: 'The watched resource.' }] };
    }
    const id = TEMPLATE.exec(uri)?.[1];
    if (id !== undefined) {
      const data = { id, templateTest: true, data: `Data for ID: ${id}` };
      return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(data) }] };
    }
    // MCP resources: an unknown URI is -32002 (resource not found).
    throw new McpError(-32002, `Resource not found: ${uri}`);
  });
  server.setRequestHandler(SubscribeRequestSchema, ({ params: { uri } }) => {
    subscriptions.add(uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, ({ params: { uri } }) => {
    subscriptions.delete(uri);
    return {};
  });

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, ({ params }): GetPromptResult => {
    const args = params.arguments ?? {};
    switch (params.name) {
      case 'test_simple_prompt':
        return {
          messages: [
            { role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } },
          ],
        };
      case 'test_prompt_with_arguments':
        return {
          messages: [
            {
              role: 'user',
              content: {
                type: 'text',
                text: `Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'`,
              },
            },
          ],
        };
      case 'test_prompt_with_embedded_resource':
        return {
          messages: [
            {
              role: 'user',
              content: {
                type: 'resource',
                resource: {
                  uri: args.resourceUri ?? 'test://example-resource',
                  mimeType: 'text/plain',
                  text: 'Embedded resource content for testing.',
                },
              },
            },
            { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
          ],
        };
      case 'test_prompt_with_image':
        return {
          messages: [
            { role: 'user', content: { type: 'image', data: RED_PIXEL_PNG, mimeType: 'image/png' } },
            { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
          ],
        };
      default:
        throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: ${params.name}`);
    }
  });

  server.setRequestHandler(CompleteRequestSchema, ({ params }) => {
    const prefix = params.argument.value.toLowerCase();
    const values = COMPLETIONS.filter((value) => value.startsWith(prefix));
    return { completion: { values, total: values.length, hasMore: false } };
  });

  return server;
}

/**
 * DNS-rebinding protection, as the `dns-rebinding-protection` scenario expects of a loopback server:
 * `Host` must be this server's loopback address, and a browser's `Origin`, when sent, too.
 */
function isLocalRequest(req: http.IncomingMessage, port: number): boolean {
  const local = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || !local.includes(host)) return false;
  const origin = req.headers.origin?.toLowerCase();
  return origin === undefined || local.some((h) => origin === `http://${h}`);
}

function sendRpcError(res: http.ServerResponse, status: number, code: number, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json' })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * Starts an MCP server on 127.0.0.1 (kernel-picked port) that implements every fixture the
 * `@modelcontextprotocol/conformance server` scenarios call: the `test_*` tools (text, image,
 * audio, embedded resource, mixed content, logging, error, progress, sampling and three
 * elicitations — those two send server→client requests on the call's stream — and
 * `test_reconnection`), `json_schema_2020_12_tool`, the `test://` resources and template,
 * subscriptions, the `test_*` prompts, completions and `logging/setLevel`. Streamable HTTP with a
 * fresh SDK `Server` and transport per session, an event store for resumption, and a Host/Origin
 * check.
 */
export async function startConformanceFixtures(): Promise<ConformanceFixtures> {
  const sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport }>();
  const httpServer = http.createServer();
  let port = 0;

  const openSession = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const server = createFixtureServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: memoryEventStore(),
      retryInterval: RETRY_MS,
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
    // Anything but a valid initialize was refused by the transport: drop the unused pair.
    if (transport.sessionId === undefined) await server.close();
  };

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (!isLocalRequest(req, port)) {
      sendRpcError(res, 403, -32000, 'Forbidden: Host or Origin not allowed');
      return;
    }
    if (new URL(req.url ?? '/', 'http://127.0.0.1').pathname !== MCP_PATH) {
      sendRpcError(res, 404, -32000, 'Not found');
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') {
      if (req.method === 'POST') await openSession(req, res);
      else sendRpcError(res, 400, -32000, 'Bad Request: no session id');
      return;
    }
    const session = sessions.get(sessionId);
    // Streamable HTTP: 404 tells the client its session is gone and it must initialize again.
    if (session === undefined) sendRpcError(res, 404, -32001, 'Session not found');
    else await session.transport.handleRequest(req, res);
  };

  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else sendRpcError(res, 500, -32603, error instanceof Error ? error.message : String(error));
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: '127.0.0.1', port: 0 }, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  port = (httpServer.address() as AddressInfo).port; // a TCP listen always yields AddressInfo

  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}${MCP_PATH}`,
    get sessions() {
      return sessions.size;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((session) => session.server.close()));
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await closed;
    },
  };
}
