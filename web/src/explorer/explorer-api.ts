/** The hub's tool API as the Tool explorer uses it: the catalog of tools, and calling one. */
import { call } from '../api.ts';
import { readEventStream } from './event-stream.ts';

/** A JSON Schema object as a tool declares it (input or output); checked in the page, never trusted. */
export type JsonSchema = Record<string, unknown>;

/** The arguments of a call: the object the input schema describes. */
export type ToolArguments = Record<string, unknown>;

/** Hints a server gives about a tool's behaviour (all optional, none guaranteed). */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** An icon a server gives for a tool. */
export interface ToolIcon {
  src: string;
  mimeType?: string;
  sizes?: string[];
}

/** One tool as `GET /api/mcp/tools` lists it. */
export interface ExplorerTool {
  name: string;
  pluginKey: string;
  description: string;
  title?: string;
  inputSchema?: JsonSchema;
  outputSchema?: JsonSchema;
  annotations?: ToolAnnotations;
  icons?: ToolIcon[];
}

/** One server with its tools. */
export interface ExplorerServer {
  name: string;
  icon: string;
  authenticated: boolean;
  tools: ExplorerTool[];
}

/** One content block of a tool result; its other fields depend on `type` and are checked when shown. */
export type ContentBlock = { type: string } & Record<string, unknown>;

/** A tool's answer (MCP `CallToolResult`). */
export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** A progress report of a running call. */
export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

/** How a call ended: the tool's result, the hub's error, or cancelled by the person. */
export type CallOutcome =
  | { kind: 'result'; result: CallToolResult }
  | { kind: 'error'; message: string; code: string | null; oauthRequired: boolean }
  | { kind: 'cancelled' };

/** The query key of the tool catalog. */
export const TOOLS_KEY = ['explorer', 'tools'] as const;

/** The caller's servers with their tools, by name. */
export async function getToolCatalog(): Promise<Record<string, ExplorerServer>> {
  return (await call<{ servers: Record<string, ExplorerServer> }>('/api/mcp/tools')).servers;
}

/** What {@link callTool} needs besides the tool and its arguments. */
export interface CallToolOptions {
  csrfToken: string;
  /** Aborting it cancels the call (the hub cancels it upstream when the request goes away). */
  signal: AbortSignal;
  onProgress: (progress: Progress) => void;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const UNREACHABLE = 'The hub could not be reached. Check your connection and try again.';

function errorOutcome(status: number | null, body: unknown): CallOutcome {
  const fallback = status === null ? 'The call failed.' : `The hub answered ${status}.`;
  const message = isRecord(body)
    ? typeof body.error === 'string'
      ? body.error
      : typeof body.message === 'string'
        ? body.message
        : fallback
    : fallback;
  return {
    kind: 'error',
    message,
    code: isRecord(body) && typeof body.code === 'string' ? body.code : null,
    oauthRequired: isRecord(body) && body.oauthRequired === true,
  };
}

function resultOutcome(body: unknown): CallOutcome {
  if (!isRecord(body) || !Array.isArray(body.content)) {
    return {
      kind: 'error',
      message: 'The hub answered with something that is not a tool result.',
      code: null,
      oauthRequired: false,
    };
  }
  const content = body.content.filter(
    (block): block is ContentBlock => isRecord(block) && typeof block.type === 'string',
  );
  return {
    kind: 'result',
    result: {
      content,
      ...(isRecord(body.structuredContent) ? { structuredContent: body.structuredContent } : {}),
      ...(body.isError === true ? { isError: true } : {}),
    },
  };
}

function progressOf(body: unknown): Progress | null {
  if (!isRecord(body) || typeof body.progress !== 'number') return null;
  return {
    progress: body.progress,
    ...(typeof body.total === 'number' ? { total: body.total } : {}),
    ...(typeof body.message === 'string' ? { message: body.message } : {}),
  };
}

/**
 * Calls a tool through the hub, asking for a stream of progress events then the result. A hub that
 * answers with plain JSON instead is understood too. Never rejects: every ending is a {@link CallOutcome}.
 */
export async function callTool(
  serverName: string,
  toolName: string,
  args: ToolArguments,
  options: CallToolOptions,
): Promise<CallOutcome> {
  const path = `/api/mcp/${encodeURIComponent(serverName)}/tools/${encodeURIComponent(toolName)}/call`;
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        'x-csrf-token': options.csrfToken,
      },
      credentials: 'same-origin',
      body: JSON.stringify({ arguments: args }),
      signal: options.signal,
    });
    if (!response.ok) return errorOutcome(response.status, parseJson(await response.text()));
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream') || response.body === null) {
      return resultOutcome(parseJson(await response.text()));
    }
    // Set from the event callback: a holder, so the type checker does not narrow it to null.
    const ended: { outcome: CallOutcome | null } = { outcome: null };
    await readEventStream(response.body, ({ event, data }) => {
      if (ended.outcome !== null) return;
      const body = parseJson(data);
      if (event === 'progress') {
        const progress = progressOf(body);
        if (progress !== null) options.onProgress(progress);
      } else if (event === 'result') {
        ended.outcome = resultOutcome(body);
      } else if (event === 'error') {
        ended.outcome = errorOutcome(null, body);
      }
    });
    return (
      ended.outcome ?? {
        kind: 'error',
        message: 'The call ended without an answer.',
        code: null,
        oauthRequired: false,
      }
    );
  } catch {
    if (options.signal.aborted) return { kind: 'cancelled' };
    return { kind: 'error', message: UNREACHABLE, code: null, oauthRequired: false };
  }
}
