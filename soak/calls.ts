import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { errorTable } from '../src/errors/index.js';
import type { ClientAgent } from './client-agent.js';
import type { Intent, Target } from './faults.js';

/** A call the soak gives up on: far longer than any the hub should take (call timeout, reconnects). */
const CLIENT_TIMEOUT_MS = 60_000;

/** The tool and arguments that carry out each intent. */
export function toolFor(intent: Intent, bigBytes: number): { tool: string; args: Record<string, unknown> } {
  switch (intent) {
    case 'crash':
      return { tool: 'crash', args: {} };
    case 'hang':
      return { tool: 'hang', args: {} };
    case 'big':
      return { tool: 'big', args: { bytes: bigBytes } };
    default:
      return { tool: 'echo', args: { message: 'soak' } };
  }
}

/** `ok`, or the code in the hub's error body; a body without one is described. */
async function restOutcome(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as
    { code?: string; isError?: boolean; content?: unknown[] } | undefined;
  if (res.ok) return body?.isError === true ? 'TOOL_ERROR' : 'ok';
  return body?.code ?? `HTTP_${res.status}`;
}

/** One REST call: `POST /api/mcp/<server>/tools/<tool>/call`, or `GET /api/mcp/tools` for `list`. */
export async function restCall(
  client: ClientAgent,
  base: string,
  token: string,
  target: Target,
  tool: string,
  args: Record<string, unknown>,
): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const signal = AbortSignal.timeout(CLIENT_TIMEOUT_MS);
  try {
    const res =
      target === 'list'
        ? await client.fetch(`${base}/api/mcp/tools`, { headers, signal })
        : await client.fetch(`${base}/api/mcp/${target}/tools/${tool}/call`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ arguments: args }),
            signal,
          });
    return await restOutcome(res);
  } catch (err) {
    return signal.aborted ? 'CLIENT_TIMEOUT' : `FETCH_FAILED ${(err as Error).message}`;
  }
}

/** On /mcp a hub error is a tool result with `isError` and the error's message: back to its code. */
const codeByMessage = new Map<string, string>(
  Object.entries(errorTable).map(([code, entry]) => [entry.message, code]),
);

/** Messages the hub words itself rather than taking from the table. */
const MESSAGE_PATTERNS: [RegExp, string][] = [
  [/did not answer|timed out/i, 'HUB_ERR_UPSTREAM_TIMEOUT'],
  [/larger than|too large/i, 'HUB_ERR_RESULT_TOO_LARGE'],
  [/connection (was )?closed|unavailable/i, 'HUB_ERR_UPSTREAM_UNAVAILABLE'],
];

function mcpOutcome(result: CallToolResult): string {
  if (result.isError !== true) return 'ok';
  const first = result.content[0];
  const text = first?.type === 'text' ? first.text : '';
  const code = codeByMessage.get(text) ?? MESSAGE_PATTERNS.find(([pattern]) => pattern.test(text))?.[1];
  return code ?? `TOOL_ERROR ${text.slice(0, 120)}`;
}

/**
 * A JSON-RPC error or a failed HTTP exchange: an HTTP error of the hub (say, a 503 while opening
 * the session) quotes its JSON body and code. `Unknown tool` is the hub's answer for a name the
 * session was not shown, when the server it belongs to cannot be reached to list it now.
 */
function mcpFailure(message: string): string {
  if (/Unknown tool/.test(message)) return 'MCP_UNKNOWN_TOOL';
  return /HUB_ERR_[A-Z_]+/.exec(message)?.[0] ?? `MCP_FAILED ${message.slice(0, 120)}`;
}

/**
 * A user's MCP session on `/mcp` (SDK client, Streamable HTTP), opened on first use and ended
 * politely (DELETE) after a number of calls, so sessions come and go through the soak.
 */
export class McpSession {
  private client: Client | undefined;
  private transport: StreamableHTTPClientTransport | undefined;
  private callsLeft = 0;

  constructor(
    private readonly agent: ClientAgent,
    private readonly url: string,
    private readonly token: string,
    private readonly callsPerSession: () => number,
  ) {}

  /** Calls `<server>__<tool>`; returns `ok` or the code of the failure. */
  async call(target: Target, tool: string, args: Record<string, unknown>): Promise<string> {
    try {
      const client = await this.open();
      if (target === 'list') {
        await client.listTools(undefined, { timeout: CLIENT_TIMEOUT_MS });
        return 'ok';
      }
      const result = await client.callTool({ name: `${target}__${tool}`, arguments: args }, undefined, {
        timeout: CLIENT_TIMEOUT_MS,
      });
      return mcpOutcome(result as CallToolResult);
    } catch (err) {
      // A failed session is not reused: the next call opens a new one.
      await this.close();
      return mcpFailure((err as Error).message);
    } finally {
      this.callsLeft -= 1;
      if (this.callsLeft <= 0) await this.close();
    }
  }

  private async open(): Promise<Client> {
    if (this.client) return this.client;
    const transport = new StreamableHTTPClientTransport(new URL(this.url), {
      requestInit: { headers: { authorization: `Bearer ${this.token}` } },
      fetch: this.agent.fetch,
    });
    const client = new Client({ name: 'soak', version: '1.0.0' });
    try {
      await client.connect(transport);
      // As MCP clients do before calling: and a tool is then called by the name it was shown.
      await client.listTools(undefined, { timeout: CLIENT_TIMEOUT_MS });
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.transport = transport;
    this.callsLeft = this.callsPerSession();
    return client;
  }

  /** Ends the session at the hub (DELETE) and closes the client. */
  async close(): Promise<void> {
    const { client, transport } = this;
    this.client = undefined;
    this.transport = undefined;
    if (!client || !transport) return;
    await transport.terminateSession().catch(() => undefined);
    await client.close().catch(() => undefined);
  }
}
