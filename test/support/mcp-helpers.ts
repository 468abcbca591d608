import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** Every text part of a tool result, joined (images and resources contribute nothing). */
export function textOf(result: unknown): string {
  // A tool call's result as the SDK's client returns it (its union type also covers a legacy shape).
  const content = (result as CallToolResult).content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** Resolves once `condition()` holds, checking every 20 ms; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(20);
  }
}

/** A loopback port free right now, for a process whose address must be known before it starts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
