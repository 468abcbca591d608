/**
 * Everything one benchmark run measures, started side by side: the echo upstream over HTTP, the
 * stdio echo behind mcp-proxy and behind supergateway (both streamable HTTP, pinned to 127.0.0.1),
 * the OAuth-protected upstream, and the hub with the three as servers. Each path names the process
 * whose CPU is the front's and the processes whose CPU is the upstream's.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { authorizeInBrowser } from '../test/peers/headless-browser.js';
import { FORCE_LOOPBACK_PRELOAD } from '../test/peers/loopback-child.js';
import { McpCaller, RestCaller, type Caller } from './callers.js';
import { startChild, type BenchChild } from './child.js';
import { startBenchHub, type BenchHub } from './hub.js';
import { descendants } from './proc.js';

const require = createRequire(import.meta.url);
const ECHO = path.resolve(import.meta.dirname, '../test/peers/echo-server.mjs');
const USER = 'bench@example.com';
const LISTENING = /SWITCHBOARD_PEER_LISTENING (\d+)/;

/** One way of calling echo. */
export interface BenchPath {
  readonly id: string;
  readonly label: string;
  /** The front's process (null: the client talks to the upstream itself). */
  readonly frontPid: number | null;
  /** The upstream's processes right now (a stdio server behind a front is the front's child). */
  upstreamPids(): Promise<number[]>;
  readonly caller: Caller;
}

/** Options of {@link startFronts}. */
export interface FrontsOptions {
  /** Node flags for the hub (e.g. --cpu-prof). */
  readonly hubFlags?: readonly string[];
  /** Only these path ids (default: every path). */
  readonly only?: ReadonlySet<string>;
  /**
   * Another build's `main.js`, run as a second hub beside this one: each hub path then runs through
   * both, the baseline's ids prefixed `baseline-`, so a change is compared within the same rounds.
   */
  readonly baselineMain?: string;
}

/** Id prefix of a baseline hub's paths. */
const BASELINE_PREFIX = 'baseline-';

/** The running processes and the paths through them. */
export class Fronts {
  constructor(
    readonly paths: readonly BenchPath[],
    readonly hub: BenchHub,
    private readonly children: readonly { stop(): Promise<unknown> }[],
  ) {}

  async stop(): Promise<void> {
    await Promise.allSettled(this.paths.map((each) => each.caller.close()));
    await this.hub.stop();
    await Promise.allSettled(this.children.map((child) => child.stop()));
  }
}

function binScript(pkg: string, relative: string): string {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), relative);
}

/** A Node program behind the loopback preload (every TCP listen on 127.0.0.1); resolves with its port. */
async function loopbackNode(
  name: string,
  args: readonly string[],
): Promise<{ child: BenchChild; port: number }> {
  const child = startChild(name, process.execPath, ['--import', FORCE_LOOPBACK_PRELOAD, ...args], {
    ...process.env,
    SWITCHBOARD_PEER_PARENT_PID: String(process.pid),
  });
  const match = await child.waitFor(LISTENING);
  return { child, port: Number(match[1]) };
}

async function startEchoHttp(): Promise<{ child: BenchChild; url: string }> {
  const child = startChild('echo-http', process.execPath, [ECHO, 'http']);
  const match = await child.waitFor(/ECHO_LISTENING (\d+)/);
  return { child, url: `http://127.0.0.1:${match[1]}/mcp` };
}

async function startOauthUpstream(): Promise<{ child: BenchChild; url: string }> {
  // `node --import tsx`, not the tsx command (which runs the script in a second process).
  const child = startChild('oauth-upstream', process.execPath, [
    '--import',
    'tsx',
    path.resolve(import.meta.dirname, 'oauth-upstream.ts'),
  ]);
  const match = await child.waitFor(/OAUTH_UPSTREAM (\{.*\})/);
  return { child, url: (JSON.parse(match[1] ?? '{}') as { url: string }).url };
}

function hubYaml(echoUrl: string, oauthUrl: string): string {
  return `mcpServers:
  echostdio:
    type: stdio
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(ECHO)}, stdio]
  echohttp:
    type: streamable-http
    url: ${echoUrl}
  secure:
    type: streamable-http
    url: ${oauthUrl}
    requiresOAuth: true
mcpSettings:
  allowedDomains: ['127.0.0.1']
  rateLimits: {toolCalls: 100000000}
`;
}

/** Runs the hub's OAuth flow for the user as a browser would, so `secure` holds a warm token. */
async function authorizeSecure(hub: BenchHub): Promise<void> {
  const first = await fetch(`${hub.base}/api/mcp/secure/tools/echo/call`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.token(USER)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ arguments: { message: 'hello' } }),
  });
  const body = (await first.json()) as { oauthUrl?: string };
  if (first.status !== 401 || body.oauthUrl === undefined)
    throw new Error(`expected a 401 with oauthUrl, got ${first.status}`);
  const cookie = first.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  const { callbackUrl } = await authorizeInBrowser(body.oauthUrl, {
    loginHint: 'alice',
    redirectUriPrefix: `${hub.base}/api/mcp/secure/oauth/callback`,
  });
  const done = await fetch(callbackUrl, { headers: { cookie }, redirect: 'manual' });
  await done.body?.cancel();
  if (done.status !== 302) throw new Error(`the OAuth callback answered ${done.status}`);
}

export async function startFronts(options: FrontsOptions = {}): Promise<Fronts> {
  const wanted = (id: string): boolean => options.only === undefined || options.only.has(id);
  const children: BenchChild[] = [];
  const echo = await startEchoHttp();
  children.push(echo.child);
  const oauth = await startOauthUpstream();
  children.push(oauth.child);
  const hub = await startBenchHub({
    yaml: () => hubYaml(echo.url, oauth.url),
    users: [USER],
    ...(options.hubFlags === undefined ? {} : { nodeFlags: options.hubFlags }),
  });
  const paths: BenchPath[] = [];
  const fixed = (pid: number) => () => Promise.resolve([pid]);
  const below = (pid: number) => () => descendants(pid);

  if (wanted('direct-http'))
    paths.push({
      id: 'direct-http',
      label: 'direct HTTP (SDK client → echo)',
      frontPid: null,
      upstreamPids: fixed(echo.child.pid),
      caller: await McpCaller.connect(echo.url, 'echo'),
    });
  if (wanted('mcp-proxy-stdio')) {
    const proxy = await loopbackNode('mcp-proxy', [
      binScript('mcp-proxy', 'dist/bin/mcp-proxy.mjs'),
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--server',
      'stream',
      '--',
      process.execPath,
      ECHO,
      'stdio',
    ]);
    children.push(proxy.child);
    paths.push({
      id: 'mcp-proxy-stdio',
      label: 'mcp-proxy 6.7.19 → stdio echo',
      frontPid: proxy.child.pid,
      upstreamPids: below(proxy.child.pid),
      caller: await McpCaller.connect(`http://127.0.0.1:${proxy.port}/mcp`, 'echo'),
    });
  }
  if (wanted('supergateway-stdio')) {
    const gateway = await loopbackNode('supergateway', [
      binScript('supergateway', 'dist/index.js'),
      '--stdio',
      `${JSON.stringify(process.execPath)} ${JSON.stringify(ECHO)} stdio`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      '0',
      '--logLevel',
      'none',
    ]);
    children.push(gateway.child);
    paths.push({
      id: 'supergateway-stdio',
      label: 'supergateway 4.0.0 → stdio echo',
      frontPid: gateway.child.pid,
      upstreamPids: below(gateway.child.pid),
      caller: await McpCaller.connect(`http://127.0.0.1:${gateway.port}/mcp`, 'echo'),
    });
  }
  const upstreams = { echo: echo.child.pid, oauth: oauth.child.pid };
  paths.push(...(await hubPaths(hub, '', wanted, upstreams)));
  let baseline: BenchHub | undefined;
  if (options.baselineMain !== undefined) {
    baseline = await startBenchHub({
      yaml: () => hubYaml(echo.url, oauth.url),
      users: [USER],
      main: options.baselineMain,
    });
    paths.push(...(await hubPaths(baseline, BASELINE_PREFIX, wanted, upstreams)));
  }
  return new Fronts(paths, hub, baseline === undefined ? children : [...children, baseline]);
}

/**
 * The paths through one hub. A baseline hub's ids and labels carry a prefix, and it is asked for
 * when the unprefixed id is.
 */
async function hubPaths(
  hub: BenchHub,
  prefix: string,
  wanted: (id: string) => boolean,
  upstreams: { echo: number; oauth: number },
): Promise<BenchPath[]> {
  const token = hub.token(USER);
  const bearer = { authorization: `Bearer ${token}` };
  const paths: BenchPath[] = [];
  const below = (pid: number) => () => descendants(pid);
  const fixed = (pid: number) => () => Promise.resolve([pid]);
  const echoOnly = fixed(upstreams.echo);
  const label = (text: string): string => (prefix === '' ? text : `baseline ${text}`);
  const id = (text: string): string => `${prefix}${text}`;
  if (wanted('hub-stdio-mcp'))
    paths.push({
      id: id('hub-stdio-mcp'),
      label: label('hub /mcp → stdio echo'),
      frontPid: hub.pid,
      upstreamPids: below(hub.pid),
      caller: await McpCaller.connect(`${hub.base}/mcp`, 'echostdio__echo', { headers: bearer }),
    });
  if (wanted('hub-stdio-rest'))
    paths.push({
      id: id('hub-stdio-rest'),
      label: label('hub REST → stdio echo'),
      frontPid: hub.pid,
      upstreamPids: below(hub.pid),
      caller: new RestCaller(hub.base, 'echostdio', token),
    });
  if (wanted('hub-http-mcp'))
    paths.push({
      id: id('hub-http-mcp'),
      label: label('hub /mcp → HTTP echo'),
      frontPid: hub.pid,
      upstreamPids: echoOnly,
      caller: await McpCaller.connect(`${hub.base}/mcp`, 'echohttp__echo', { headers: bearer }),
    });
  if (wanted('hub-http-rest'))
    paths.push({
      id: id('hub-http-rest'),
      label: label('hub REST → HTTP echo'),
      frontPid: hub.pid,
      upstreamPids: echoOnly,
      caller: new RestCaller(hub.base, 'echohttp', token),
    });
  if (wanted('hub-oauth-mcp')) {
    await authorizeSecure(hub);
    paths.push({
      id: id('hub-oauth-mcp'),
      label: label('hub /mcp → OAuth HTTP echo (warm token)'),
      frontPid: hub.pid,
      upstreamPids: fixed(upstreams.oauth),
      caller: await McpCaller.connect(`${hub.base}/mcp`, 'secure__echo', {
        headers: bearer,
        argument: 'message',
        shape: 'prefixed',
      }),
    });
  }
  return paths;
}
