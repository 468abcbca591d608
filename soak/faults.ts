/** Which upstream a call went to (`list` is `GET /api/mcp/tools`, no upstream). */
export type Target = 'soak-stdio' | 'soak-http' | 'list';

/** What the soak meant a call to do: ordinary traffic, or one injected fault. */
export type Intent = 'ok' | 'crash' | 'hang' | 'big';

/** One finished call. `outcome` is `ok` or the hub's error code (or a soak-side description). */
export interface CallRecord {
  path: 'rest' | 'mcp';
  target: Target;
  intent: Intent;
  start: number;
  end: number;
  outcome: string;
}

/** A stretch of time in which some failures are expected: after a crash, or around the Redis restart. */
export interface FaultWindow {
  kind: 'crash' | 'redis';
  /** The crashed upstream; none for Redis (it touches every call). */
  target?: Target;
  /** For a stdio crash: the profile whose connection died (REST and /mcp each have their own). */
  path?: CallRecord['path'];
  from: number;
  to: number;
}

/** The code each injected fault must fail its own call with. */
export const EXPECTED: Record<Exclude<Intent, 'ok'>, string> = {
  crash: 'HUB_ERR_UPSTREAM_UNAVAILABLE',
  hang: 'HUB_ERR_UPSTREAM_TIMEOUT',
  big: 'HUB_ERR_RESULT_TOO_LARGE',
};

/**
 * Failures other calls may have inside a window: calls in flight on a connection that crashed, or
 * made while it reconnects, fail as unavailable (and, after repeated failed connects, with the
 * circuit open); calls during the Redis restart fail with the KV unavailable. On /mcp, a session
 * opened while a server could not be listed (down, or its shared tool list unreadable) was not
 * shown its tools, and calling one answers `Unknown tool` (JSON-RPC -32602) until it can be.
 */
export const WINDOW_CODES: Record<FaultWindow['kind'], readonly string[]> = {
  crash: ['HUB_ERR_UPSTREAM_UNAVAILABLE', 'HUB_ERR_CIRCUIT_OPEN', 'MCP_UNKNOWN_TOOL'],
  redis: ['HUB_ERR_KV_UNAVAILABLE', 'MCP_UNKNOWN_TOOL'],
};

/** How a finished call counts. */
export type Verdict = 'ok' | 'fault as expected' | 'in a fault window' | 'unexplained';

const overlaps = (call: CallRecord, w: FaultWindow): boolean =>
  call.start <= w.to &&
  call.end >= w.from &&
  (w.target === undefined || w.target === call.target) &&
  (w.path === undefined || w.path === call.path);

/** Classifies one call against the faults injected and their windows. */
export function verdictOf(call: CallRecord, windows: readonly FaultWindow[]): Verdict {
  if (call.intent !== 'ok' && call.outcome === EXPECTED[call.intent]) return 'fault as expected';
  if (call.intent === 'ok' && call.outcome === 'ok') return 'ok';
  const explained = windows.some((w) => overlaps(call, w) && WINDOW_CODES[w.kind].includes(call.outcome));
  return explained ? 'in a fault window' : 'unexplained';
}

/** Counts by fault kind and by verdict, and the unexplained calls themselves. */
export interface FaultTally {
  injected: Record<string, number>;
  asExpected: Record<string, number>;
  failuresByCode: Record<string, number>;
  inWindow: number;
  unexplained: CallRecord[];
  calls: number;
  failures: number;
}

const bump = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Tallies every call; the soak passes when `unexplained` is empty. */
export function tally(calls: readonly CallRecord[], windows: readonly FaultWindow[]): FaultTally {
  const result: FaultTally = {
    injected: {},
    asExpected: {},
    failuresByCode: {},
    inWindow: 0,
    unexplained: [],
    calls: calls.length,
    failures: 0,
  };
  for (const call of calls) {
    if (call.intent !== 'ok') bump(result.injected, `${call.intent} ${call.target}`);
    if (call.outcome !== 'ok') {
      result.failures += 1;
      bump(result.failuresByCode, call.outcome);
    }
    const verdict = verdictOf(call, windows);
    if (verdict === 'fault as expected') bump(result.asExpected, `${call.intent} ${call.target}`);
    else if (verdict === 'in a fault window') result.inWindow += 1;
    else if (verdict === 'unexplained') result.unexplained.push(call);
  }
  return result;
}
