import type { ToolArguments } from './explorer-api.ts';

/**
 * Each tool's last arguments, kept in this page's memory only (never stored in the browser), by
 * user, so a next person signing in on the same page does not see them.
 */
const remembered = new Map<string, ToolArguments>();

function keyOf(userId: string, serverName: string, toolName: string): string {
  return JSON.stringify([userId, serverName, toolName]);
}

/** Keeps the arguments of a call, to fill the form in again next time. */
export function rememberArguments(userId: string, serverName: string, toolName: string, args: ToolArguments) {
  remembered.set(keyOf(userId, serverName, toolName), args);
}

/** The arguments of this user's last call of the tool, if any in this page's life. */
export function recallArguments(
  userId: string,
  serverName: string,
  toolName: string,
): ToolArguments | undefined {
  return remembered.get(keyOf(userId, serverName, toolName));
}
