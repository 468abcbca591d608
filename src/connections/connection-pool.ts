import type {
  ClientCapabilities,
  Implementation,
  LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { systemClock, systemRandom, type Clock, type Random } from '../core/index.js';
import { HubError } from '../errors/index.js';
import type { Logger } from '../observability/index.js';
import { CircuitBreaker, DEFAULT_BREAKER, type BreakerSettings } from './circuit-breaker.js';
import { connectWithRetries, DEFAULT_RETRY, type RetrySettings } from './connect-retries.js';
import { createTransport, type TransportDeps } from './create-transport.js';
import { IdleTimer } from './idle-timer.js';
import { ListenerSet } from './listener-set.js';
import type { SpawnFunction } from './stdio-transport.js';
import type { ConnectionOptions, ConnectionState, FetchLike, UpstreamSpec } from './types.js';
import { UpstreamConnection, type CloseReason } from './upstream-connection.js';
import { toConnectError } from './upstream-errors.js';

/** A log message of an upstream that no one request claimed. */
export type UnclaimedLog = LoggingMessageNotification['params'];

/** The side effects and tuning of a {@link ConnectionPool}. */
export interface ConnectionPoolDeps {
  logger: Logger;
  /** The hub's environment; stdio children get only its PATH, HOME, LANG, TZ and TMPDIR. */
  hostEnv: Readonly<Record<string, string | undefined>>;
  clock?: Clock;
  random?: Random;
  /** For every HTTP request to upstreams (the egress guard); default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Opens every websocket upstream's socket (the egress guard); default: ws connects by itself. */
  dialWebSocket?: TransportDeps['dialWebSocket'];
  spawn?: SpawnFunction;
  /** The largest message taken from an upstream on any transport (see TransportDeps). */
  maxResultBytes?: number | undefined;
  stdio?: TransportDeps['stdio'];
  clientInfo?: Implementation;
  /** Capabilities declared to upstreams; none by default (see UpstreamConnectionInit). */
  capabilities?: ClientCapabilities;
  breaker?: Partial<BreakerSettings>;
  retry?: Partial<RetrySettings>;
}

/** Hears that a key's upstream announced a new tool list. */
export type ToolsChangedListener = (key: string) => void;
/**
 * Hears that a key's upstream announced a resource change: `notifications/resources/updated` with
 * the upstream's own URI, or `notifications/resources/list_changed` (URI undefined).
 */
export type ResourcesChangedListener = (key: string, updatedUri: string | undefined) => void;
/** Hears a key's state change. */
export type StateChangeListener = (key: string, state: ConnectionState) => void;

interface Entry {
  readonly key: string;
  readonly fingerprint: string;
  readonly breaker: CircuitBreaker;
  readonly logger: Logger;
  state: ConnectionState;
  connection: UpstreamConnection | undefined;
  attempt: Promise<UpstreamConnection> | undefined;
  attemptAbort: AbortController | undefined;
  readonly idle: IdleTimer;
  idleTimeoutMs: number;
  /** Disconnected, replaced or the pool closed: its callbacks must no longer touch anything. */
  retired: boolean;
}

/**
 * The hub's upstream connections, one per key the caller chooses (`app|<server>`,
 * `user|<userId>|<server>`): lazy, single-flight connects with retries inside the init timeout, a
 * circuit breaker per key, idle eviction per connection, and replacement when the spec's
 * fingerprint changes. Reading state never connects, disconnects or touches an idle timer.
 */
export class ConnectionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly closings = new Set<Promise<unknown>>();
  private readonly toolsListeners: ListenerSet<[key: string]>;
  private readonly resourceListeners: ListenerSet<[key: string, updatedUri: string | undefined]>;
  private readonly promptsListeners: ListenerSet<[key: string]>;
  private readonly logListeners: ListenerSet<[key: string, params: UnclaimedLog]>;
  private readonly stateListeners: ListenerSet<[key: string, state: ConnectionState]>;
  /** Keys whose connections stay open past their idle timeout, and how many holders each has. */
  private readonly holds = new Map<string, number>();
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly breakerSettings: BreakerSettings;
  private readonly retry: RetrySettings;
  private readonly transportDeps: Omit<TransportDeps, 'logger'>;
  private closed = false;

  constructor(private readonly deps: ConnectionPoolDeps) {
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? systemRandom;
    this.breakerSettings = { ...DEFAULT_BREAKER, ...deps.breaker };
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.toolsListeners = new ListenerSet(deps.logger);
    this.resourceListeners = new ListenerSet(deps.logger);
    this.promptsListeners = new ListenerSet(deps.logger);
    this.logListeners = new ListenerSet(deps.logger);
    this.stateListeners = new ListenerSet(deps.logger);
    this.transportDeps = {
      clock: this.clock,
      fetch: deps.fetch ?? ((url, init) => globalThis.fetch(url, init)),
      ...(deps.dialWebSocket === undefined ? {} : { dialWebSocket: deps.dialWebSocket }),
      hostEnv: deps.hostEnv,
      ...(deps.spawn === undefined ? {} : { spawn: deps.spawn }),
      ...(deps.maxResultBytes === undefined ? {} : { maxResultBytes: deps.maxResultBytes }),
      ...(deps.stdio === undefined ? {} : { stdio: deps.stdio }),
    };
  }

  /**
   * The live connection for `key`, connecting first if needed; concurrent callers share one
   * attempt. A different `fingerprint` than the live one's closes it and connects anew. Resets
   * the connection's idle timer. Rejects with HUB_ERR_CIRCUIT_OPEN while the key's breaker is
   * open, HUB_ERR_UPSTREAM_TIMEOUT or HUB_ERR_UPSTREAM_UNAVAILABLE when connecting fails.
   */
  acquire(
    key: string,
    fingerprint: string,
    spec: UpstreamSpec,
    options: ConnectionOptions,
  ): Promise<UpstreamConnection> {
    if (this.closed)
      return Promise.reject(new HubError('HUB_ERR_NOT_READY', { message: 'Connection pool is closed' }));
    let entry = this.entries.get(key);
    if (entry !== undefined && entry.fingerprint !== fingerprint) {
      entry.logger.info('upstream spec changed; replacing the connection');
      void this.retire(entry); // never rejects; close() waits for it through `closings`
      entry = undefined;
    }
    entry ??= this.createEntry(key, fingerprint);
    entry.idleTimeoutMs = options.idleTimeoutMs;
    const live = entry.connection;
    if (live !== undefined && !live.closed) {
      this.armIdle(entry);
      return Promise.resolve(live);
    }
    if (entry.attempt !== undefined) return entry.attempt;
    const verdict = entry.breaker.check();
    if (!verdict.allowed) {
      return Promise.reject(
        new HubError('HUB_ERR_CIRCUIT_OPEN', { details: { retryAfterMs: verdict.retryAfterMs } }),
      );
    }
    const attempt = this.connect(entry, spec, options);
    entry.attempt = attempt;
    const settled = (): void => {
      if (entry.attempt === attempt) entry.attempt = undefined;
    };
    attempt.then(settled, settled);
    return attempt;
  }

  /** The key's state, without any side effect. Unknown keys are `disconnected`. */
  state(key: string): ConnectionState {
    return this.entries.get(key)?.state ?? 'disconnected';
  }

  /** The key's live connection if there is one, without connecting or touching its idle timer. */
  peek(key: string): UpstreamConnection | undefined {
    const connection = this.entries.get(key)?.connection;
    return connection === undefined || connection.closed ? undefined : connection;
  }

  /** Keys the pool holds (live, connecting or failed). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * Closes the key's connection (or abandons its attempt) and forgets the key, its breaker
   * included; resolves once the upstream is closed (a stdio child has exited).
   */
  async disconnect(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry !== undefined) await this.retire(entry);
  }

  /** {@link disconnect} for every key `predicate` accepts, e.g. every key of one server. */
  async disconnectWhere(predicate: (key: string) => boolean): Promise<void> {
    const chosen = [...this.entries.values()].filter((entry) => predicate(entry.key));
    await Promise.allSettled(chosen.map((entry) => this.retire(entry)));
  }

  /** Subscribes to `notifications/tools/list_changed` of any key; returns the unsubscribe. */
  onToolsChanged(listener: ToolsChangedListener): () => void {
    return this.toolsListeners.add(listener);
  }

  /** Subscribes to resource notifications of any key; returns the unsubscribe. */
  onResourcesChanged(listener: ResourcesChangedListener): () => void {
    return this.resourceListeners.add(listener);
  }

  /** Subscribes to `notifications/prompts/list_changed` of any key; returns the unsubscribe. */
  onPromptsChanged(listener: (key: string) => void): () => void {
    return this.promptsListeners.add(listener);
  }

  /**
   * Subscribes to the log messages (`notifications/message`) of any key that no one request in flight
   * claims (see UpstreamConnectionInit.onLog); returns the unsubscribe.
   */
  onLogMessage(listener: (key: string, params: UnclaimedLog) => void): () => void {
    return this.logListeners.add(listener);
  }

  /**
   * Keeps the key's connection (this one and any later one) open past its idle timeout until the
   * returned release is called: a live resource subscription is use the idle timer cannot see. A
   * drop or a disconnect still ends it. Release is idempotent.
   */
  hold(key: string): () => void {
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    this.rearm(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.holds.get(key) ?? 1) - 1;
      if (left > 0) this.holds.set(key, left);
      else this.holds.delete(key);
      this.rearm(key);
    };
  }

  /** Subscribes to state changes of any key; returns the unsubscribe. */
  onStateChange(listener: StateChangeListener): () => void {
    return this.stateListeners.add(listener);
  }

  /** Closes every connection and refuses new acquires; resolves once all are closed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const entry of [...this.entries.values()]) void this.retire(entry);
    while (this.closings.size > 0) await Promise.allSettled([...this.closings]);
  }

  private createEntry(key: string, fingerprint: string): Entry {
    const entry: Entry = {
      key,
      fingerprint,
      idle: new IdleTimer(() => this.evictIdle(entry), this.clock),
      breaker: new CircuitBreaker(this.breakerSettings, this.clock, this.random),
      logger: this.deps.logger.child({ upstream: key }),
      state: 'disconnected',
      connection: undefined,
      attempt: undefined,
      attemptAbort: undefined,
      idleTimeoutMs: 0,
      retired: false,
    };
    this.entries.set(key, entry);
    return entry;
  }

  private async connect(
    entry: Entry,
    spec: UpstreamSpec,
    options: ConnectionOptions,
  ): Promise<UpstreamConnection> {
    const abort = new AbortController();
    entry.attemptAbort = abort;
    this.setState(entry, 'connecting');
    try {
      const connection = await connectWithRetries(
        (remainingMs) => this.openConnection(entry, spec, options, remainingMs, abort.signal),
        {
          settings: this.retry,
          budgetMs: options.initTimeoutMs,
          clock: this.clock,
          random: this.random,
          logger: entry.logger,
          signal: abort.signal,
        },
      );
      if (entry.retired || connection.closed) {
        await connection.close();
        throw new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', {
          message: 'MCP server connection closed while connecting',
        });
      }
      entry.connection = connection;
      entry.breaker.recordSuccess();
      this.setState(entry, 'connected');
      this.armIdle(entry);
      return connection;
    } catch (error) {
      if (!entry.retired) {
        entry.breaker.recordFailure();
        this.setState(entry, 'error');
        entry.logger.warn(
          { err: error, circuitOpen: entry.breaker.open },
          'could not connect to the MCP server',
        );
      }
      throw toConnectError(error);
    } finally {
      entry.attemptAbort = undefined;
    }
  }

  private async openConnection(
    entry: Entry,
    spec: UpstreamSpec,
    options: ConnectionOptions,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<UpstreamConnection> {
    // Callbacks may fire for a connection that is no longer the entry's; each checks it is.
    const ref: { connection?: UpstreamConnection } = {};
    const capabilities = options.capabilities ?? this.deps.capabilities;
    const current = (): boolean =>
      !entry.retired && ref.connection !== undefined && entry.connection === ref.connection;
    const connection = await UpstreamConnection.open(
      {
        makeTransport: (hooks) =>
          createTransport(
            spec,
            {
              ...this.transportDeps,
              ...(options.wrapFetch ? { fetch: options.wrapFetch(this.transportDeps.fetch) } : {}),
              logger: entry.logger,
            },
            hooks,
          ),
        requestTimeoutMs: options.requestTimeoutMs,
        ...(options.maxCallDurationMs === undefined ? {} : { maxCallDurationMs: options.maxCallDurationMs }),
        logger: entry.logger,
        ...(this.deps.clientInfo === undefined ? {} : { clientInfo: this.deps.clientInfo }),
        ...(capabilities === undefined ? {} : { capabilities }),
        ...(options.session === undefined ? {} : { session: options.session }),
        onToolsChanged: () => {
          if (current()) this.toolsListeners.emit(entry.key);
        },
        onResourcesChanged: (updatedUri) => {
          if (current()) this.resourceListeners.emit(entry.key, updatedUri);
        },
        onPromptsChanged: () => {
          if (current()) this.promptsListeners.emit(entry.key);
        },
        onLog: (params) => {
          if (current()) this.logListeners.emit(entry.key, params);
        },
        onClosed: (reason) => {
          if (current()) this.onDropped(entry, reason);
        },
        onActivity: () => {
          if (current()) this.armIdle(entry);
        },
      },
      timeoutMs,
      signal,
    );
    ref.connection = connection;
    return connection;
  }

  /** The entry's connection ended without the pool asking: the next acquire reconnects. */
  private onDropped(entry: Entry, reason: CloseReason): void {
    entry.connection = undefined;
    entry.idle.cancel();
    entry.logger.info({ reason }, 'MCP server connection ended');
    this.setState(entry, 'disconnected');
  }

  private rearm(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.armIdle(entry);
  }

  /** In use though no request runs: held by {@link hold}. */
  private isHeld(entry: Entry): boolean {
    return this.holds.has(entry.key);
  }

  /**
   * Restarts the idle countdown; none while requests are in flight (the last one to end
   * restarts it) or while the key is held.
   */
  private armIdle(entry: Entry): void {
    const connection = entry.connection;
    const busy = connection === undefined || connection.closed || connection.inFlight > 0;
    if (busy || entry.retired || this.isHeld(entry)) {
      entry.idle.stop();
      return;
    }
    entry.idle.restart(entry.idleTimeoutMs);
  }

  private evictIdle(entry: Entry): void {
    const connection = entry.connection;
    if (entry.retired || connection === undefined || connection.inFlight > 0 || this.isHeld(entry)) return;
    entry.logger.info({ idleTimeoutMs: entry.idleTimeoutMs }, 'closing idle MCP server connection');
    void this.detachAndClose(entry); // tracked: close() waits for it
    this.setState(entry, 'disconnected');
  }

  /** Takes the connection off the entry first, so its close callback cannot clobber a newer state. */
  private detachAndClose(entry: Entry): Promise<unknown> {
    const connection = entry.connection;
    entry.connection = undefined;
    entry.idle.cancel();
    return this.track(connection === undefined ? Promise.resolve() : connection.close());
  }

  /** Forgets the entry: abandons its attempt, closes its connection; resolves once both are done. */
  private retire(entry: Entry): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    const wasDisconnected = entry.state === 'disconnected';
    entry.retired = true;
    entry.attemptAbort?.abort(
      new HubError('HUB_ERR_UPSTREAM_UNAVAILABLE', { message: 'Connection was closed while connecting' }),
    );
    const attempt = entry.attempt === undefined ? Promise.resolve() : this.track(entry.attempt);
    const closing = this.detachAndClose(entry);
    entry.state = 'disconnected';
    if (!wasDisconnected) this.stateListeners.emit(entry.key, 'disconnected');
    return Promise.allSettled([attempt, closing]).then(() => undefined);
  }

  private setState(entry: Entry, state: ConnectionState): void {
    if (entry.retired || entry.state === state) return;
    entry.state = state;
    this.stateListeners.emit(entry.key, state);
  }

  /** Keeps a closing promise until it settles, so close() can wait for every upstream to end. */
  private track(promise: Promise<unknown>): Promise<unknown> {
    const settled = promise.then(
      () => undefined,
      (error: unknown) =>
        this.deps.logger.debug({ err: error }, 'upstream close or abandoned connect failed'),
    );
    this.closings.add(settled);
    void settled.then(() => this.closings.delete(settled));
    return settled;
  }
}
