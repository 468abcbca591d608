/**
 * How the benchmark calls `echo` on each path: an SDK client over one streamable HTTP session (so C
 * concurrent calls share that session), or the hub's REST route with plain fetches (C parallel
 * requests). Every answer is checked: an error result, a wrong status or a text of the wrong length
 * throws, and the phase counts it as an error.
 */
import { setMaxListeners } from 'node:events';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { textOf } from '../test/support/mcp-helpers.js';

/** Calls `echo` with `text` once and checks the answer. */
export interface Caller {
  call(text: string): Promise<void>;
  close(): Promise<void>;
}

/** The text an echo answers for `text`: ours answers it unchanged, the OAuth peer prefixes it. */
export type EchoShape = 'plain' | 'prefixed';

function expected(text: string, shape: EchoShape): number {
  return shape === 'plain' ? text.length : text.length + 'Echo: '.length;
}

/**
 * Node's fetch with the transport's one signal marked as having no listener limit. The SDK's
 * transport passes the same signal to every request; undici hangs an abort listener on it per
 * request until garbage collection and raises the signal's limit to 1 500, past which Node printed
 * a MaxListenersExceededWarning for every further request: thousands of lines a minute, written by
 * the benchmark's own client on the CPU it shares with the paths it measures.
 */
const quietFetch: typeof fetch = (url, init) => {
  if (init?.signal) setMaxListeners(0, init.signal);
  return fetch(url, init);
};

/** An SDK client with one session to `url`, calling `tool` with `{[argument]: text}`. */
export class McpCaller implements Caller {
  private constructor(
    private readonly client: Client,
    private readonly tool: string,
    private readonly argument: string,
    private readonly shape: EchoShape,
  ) {}

  static async connect(
    url: string,
    tool: string,
    options: { argument?: string; shape?: EchoShape; headers?: Record<string, string> } = {},
  ): Promise<McpCaller> {
    const client = new Client({ name: 'switchboard-bench', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: options.headers ?? {} },
        fetch: quietFetch,
      }),
    );
    return new McpCaller(client, tool, options.argument ?? 'text', options.shape ?? 'plain');
  }

  async call(text: string): Promise<void> {
    const result = await this.client.callTool({ name: this.tool, arguments: { [this.argument]: text } });
    if (result.isError === true)
      throw new Error(`${this.tool}: error result ${textOf(result).slice(0, 200)}`);
    const length = textOf(result).length;
    if (length !== expected(text, this.shape)) throw new Error(`${this.tool}: answered ${length} characters`);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** `POST <base>/api/mcp/<server>/tools/echo/call` with a bearer token. */
export class RestCaller implements Caller {
  private readonly url: string;

  constructor(
    base: string,
    server: string,
    private readonly token: string,
  ) {
    this.url = `${base}/api/mcp/${server}/tools/echo/call`;
  }

  async call(text: string): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ arguments: { text } }),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`REST ${res.status}: ${body.slice(0, 200)}`);
    const result = JSON.parse(body) as { content?: unknown; isError?: boolean };
    if (result.isError === true || !Array.isArray(result.content)) throw new Error('REST: error result');
    const length = textOf(result).length;
    if (length !== text.length) throw new Error(`REST: answered ${length} characters`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
