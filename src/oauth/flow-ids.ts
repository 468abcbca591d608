/**
 * Flow ids and the KV names the OAuth client uses. One file, so every key the feature writes can be
 * seen (and found in Redis) at a glance.
 */

/** The flow id of the status, cancel and binding APIs: `userId:serverName` (LibreChat's format). */
export function flowIdFor(userId: string, serverName: string): string {
  return `${userId}:${serverName}`;
}

/**
 * Splits a flow id at its last `:`; server names never contain one (config/server-name.ts), user
 * ids might. Null when either half is empty.
 */
export function parseFlowId(flowId: string): { userId: string; serverName: string } | null {
  const at = flowId.lastIndexOf(':');
  if (at <= 0 || at === flowId.length - 1) return null;
  return { userId: flowId.slice(0, at), serverName: flowId.slice(at + 1) };
}

/** KV key of one authorization attempt, named by its `state`. */
export function stateKey(state: string): string {
  return `oauth:state:${state}`;
}

/**
 * KV key of the claim on a state: set-if-absent by the one callback that may redeem its code, then
 * the tokens it obtained, held until they are stored.
 */
export function stateClaimKey(state: string): string {
  return `oauth:state-claim:${state}`;
}

/** KV key of a flow's record (status, epoch). */
export function flowKey(flowId: string): string {
  return `oauth:flow:${flowId}`;
}

/** Channel on which a flow's completion, failure or cancellation is announced. */
export function flowDoneChannel(flowId: string): string {
  return `oauth:flow-done:${flowId}`;
}

/** Lock name of the single-flight refresh of one (user, server), shared by every instance. */
export function refreshLockName(userId: string, serverName: string): string {
  return `oauth:refresh:${userId}:${serverName}`;
}

/** Lock name of dynamic client registration at one AS for one server. */
export function registrationLockName(serverName: string, issuer: string): string {
  return `oauth:register:${serverName}|${issuer}`;
}

/** Marks a (user, server) whose refresh failed, so its state reads `needs_auth`. */
export function needsAuthKey(userId: string, serverName: string): string {
  return `oauth:needs-auth:${userId}:${serverName}`;
}

/** One slot of the step-up budget of a (user, server); slots 1..max are claimed with set-if-absent. */
export function stepUpKey(userId: string, serverName: string, slot: number): string {
  return `oauth:step-up:${userId}:${serverName}:${slot}`;
}
