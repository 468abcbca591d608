import { useCallback, useEffect, useRef, useState } from 'react';
import { useSession } from '../session.ts';
import { callTool, type CallOutcome, type Progress, type ToolArguments } from './explorer-api.ts';

/** Where a tool call stands: not started, running (with its latest progress), or ended. */
export type RunState =
  | { status: 'idle' }
  | { status: 'running'; startedAt: number; progress: Progress | null }
  | { status: 'done'; outcome: CallOutcome; elapsedMs: number };

/**
 * Calls one tool and follows the call: progress as it comes, how it ended and how long it took as
 * measured in the page. `cancel` aborts the request, which makes the hub cancel the call upstream;
 * leaving the tool's page cancels a running call too.
 */
export function useToolCall(serverName: string, toolName: string) {
  const { csrfToken } = useSession();
  const [state, setState] = useState<RunState>({ status: 'idle' });
  const running = useRef<AbortController | null>(null);

  useEffect(() => () => running.current?.abort(), []);

  const start = useCallback(
    async (args: ToolArguments) => {
      running.current?.abort();
      const controller = new AbortController();
      running.current = controller;
      const startedAt = performance.now();
      setState({ status: 'running', startedAt, progress: null });
      const outcome = await callTool(serverName, toolName, args, {
        csrfToken,
        signal: controller.signal,
        onProgress: (progress) => {
          if (running.current !== controller) return;
          setState((now) => (now.status === 'running' ? { ...now, progress } : now));
        },
      });
      if (running.current !== controller) return;
      running.current = null;
      setState({ status: 'done', outcome, elapsedMs: performance.now() - startedAt });
    },
    [serverName, toolName, csrfToken],
  );

  const cancel = useCallback(() => running.current?.abort(), []);

  return { state, start, cancel };
}

/** Milliseconds since `startedAt`, updated a few times a second; 0 when nothing runs (null). */
export function useElapsed(startedAt: number | null): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (startedAt === null) return;
    setNow(performance.now());
    const timer = window.setInterval(() => setNow(performance.now()), 200);
    return () => window.clearInterval(timer);
  }, [startedAt]);
  return startedAt === null ? 0 : Math.max(0, now - startedAt);
}
