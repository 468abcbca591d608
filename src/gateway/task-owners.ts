import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/** Tasks remembered at once; the oldest is forgotten past this many (its id then finds nothing). */
const MAX_TASKS = 10_000;
/** How long a task is remembered when its server gave no `ttl`. */
const DEFAULT_TTL_MS = 60 * 60_000;

/**
 * Who created each task relayed through a per-server endpoint (MCP 2025-11-25 "tasks"). Upstream
 * task ids live in the upstream session, and one upstream session can carry several users' calls
 * (an app-level server's connection is shared): without this, any user of that server could read,
 * list or cancel another's task by its id. A task is known by the pool key of the connection it
 * was created on and its id, and belongs to the user who created it.
 */
export class TaskOwners {
  private readonly owners = new Map<string, { userId: string; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The task `taskId` created on connection `key` belongs to `userId`. */
  record(key: string, taskId: string, userId: string, ttlMs: number | null | undefined): void {
    const id = `${key}\n${taskId}`;
    this.owners.delete(id);
    if (this.owners.size >= MAX_TASKS) this.owners.delete(this.owners.keys().next().value ?? '');
    this.owners.set(id, { userId, expiresAt: this.now() + (ttlMs ?? DEFAULT_TTL_MS) });
  }

  /** True when `userId` created the task on this connection and it is still remembered. */
  owns(key: string, taskId: string, userId: string): boolean {
    const owner = this.owners.get(`${key}\n${taskId}`);
    if (owner === undefined || owner.expiresAt <= this.now()) return false;
    return owner.userId === userId;
  }

  /**
   * Refuses a task id the caller did not create with the answer an unknown id gets, so an id of
   * someone else's task tells nothing about it.
   */
  check(key: string, taskId: unknown, userId: string): void {
    if (typeof taskId === 'string' && this.owns(key, taskId, userId)) return;
    throw new McpError(ErrorCode.InvalidParams, 'Task not found');
  }
}

/** This process's relayed tasks, shared by every MCP session of either endpoint (a task outlives its session). */
export const processTaskOwners = new TaskOwners();
