import { Validator } from '@cfworker/json-schema';
import { Link } from 'react-router';
import { ContentBlockView } from './ContentBlocks.tsx';
import type { CallOutcome, CallToolResult, JsonSchema, Progress } from './explorer-api.ts';
import { draftOf } from './schema-validator.ts';
import { useElapsed, type RunState } from './use-tool-call.ts';

/** Milliseconds as people read them here: whole milliseconds. */
export function formatMs(ms: number): string {
  return `${Math.round(ms).toLocaleString('en')} ms`;
}

interface ResultViewProps {
  state: RunState;
  toolName: string;
  outputSchema: JsonSchema | undefined;
}

/**
 * The result area of a tool: what is running (with progress), then how the call ended and how long it
 * took. The status line is a live region, so screen readers hear each ending.
 */
export function ResultView({ state, toolName, outputSchema }: ResultViewProps) {
  const elapsed = useElapsed(state.status === 'running' ? state.startedAt : null);
  return (
    <section className="card result" aria-labelledby="result-heading">
      <h2 id="result-heading">Result</h2>
      <p role="status" className="result-status">
        {statusLine(state, toolName)}
      </p>
      {state.status === 'running' && <Running progress={state.progress} elapsed={elapsed} />}
      {state.status === 'done' && (
        <Outcome outcome={state.outcome} toolName={toolName} outputSchema={outputSchema} />
      )}
    </section>
  );
}

function statusLine(state: RunState, toolName: string): string {
  if (state.status === 'idle') return `Call ${toolName} to see its result here.`;
  if (state.status === 'running') return `Calling ${toolName}…`;
  const took = formatMs(state.elapsedMs);
  switch (state.outcome.kind) {
    case 'cancelled':
      return `Cancelled after ${took}.`;
    case 'error':
      return `The call failed after ${took}.`;
    case 'result':
      return state.outcome.result.isError === true
        ? `The tool reported an error after ${took}.`
        : `Done in ${took}.`;
  }
}

function Running({ progress, elapsed }: { progress: Progress | null; elapsed: number }) {
  const total = progress?.total;
  const known = progress !== null && total !== undefined && total > 0;
  return (
    <div className="running">
      <progress
        aria-label="Progress"
        {...(known ? { value: Math.min(progress.progress, total), max: total } : {})}
      />
      <p className="muted">
        {progress === null
          ? 'Waiting for the tool…'
          : known
            ? `Step ${progress.progress} of ${total}`
            : `Progress: ${progress.progress}`}
        {' · '}
        {formatMs(elapsed)} so far
      </p>
      {progress?.message !== undefined && <p className="progress-message">{progress.message}</p>}
    </div>
  );
}

function Outcome({
  outcome,
  toolName,
  outputSchema,
}: {
  outcome: CallOutcome;
  toolName: string;
  outputSchema: JsonSchema | undefined;
}) {
  if (outcome.kind === 'cancelled') {
    return (
      <p className="notice">
        Cancelled. The hub asked the server to stop; the tool may have done part of its work.
      </p>
    );
  }
  if (outcome.kind === 'error' && outcome.oauthRequired) {
    return (
      <p role="alert" className="notice">
        This server needs you to sign in before its tools can be called. Sign in on the{' '}
        <Link to="/servers">Servers screen</Link>, then call again.
      </p>
    );
  }
  if (outcome.kind === 'error') {
    return (
      <p role="alert" className="alert">
        {outcome.message}
      </p>
    );
  }
  return <ToolResult result={outcome.result} toolName={toolName} outputSchema={outputSchema} />;
}

function ToolResult({
  result,
  toolName,
  outputSchema,
}: {
  result: CallToolResult;
  toolName: string;
  outputSchema: JsonSchema | undefined;
}) {
  const blocks = result.content.map((block, index) => (
    <div className="block" key={index}>
      <ContentBlockView block={block} toolName={toolName} />
    </div>
  ));
  return (
    <>
      {result.isError === true ? (
        <div role="alert" className="alert result-error">
          <p className="result-error-title">The tool reported an error:</p>
          {blocks}
        </div>
      ) : (
        <div className="blocks">{blocks}</div>
      )}
      {result.content.length === 0 && result.structuredContent === undefined && (
        <p className="muted">The tool returned no content.</p>
      )}
      {result.structuredContent !== undefined && (
        <StructuredContent value={result.structuredContent} outputSchema={outputSchema} />
      )}
    </>
  );
}

/** Whether structured content fits the tool's declared output schema; null when it declared none. */
function fitsOutputSchema(value: unknown, outputSchema: JsonSchema | undefined): boolean | null {
  if (outputSchema === undefined) return null;
  try {
    return new Validator(outputSchema, draftOf(outputSchema)).validate(value).valid;
  } catch {
    return null;
  }
}

function StructuredContent({
  value,
  outputSchema,
}: {
  value: Record<string, unknown>;
  outputSchema: JsonSchema | undefined;
}) {
  const fits = fitsOutputSchema(value, outputSchema);
  return (
    <div className="structured">
      <h3>Structured content</h3>
      {fits === true && <p className="muted">Matches the tool's output schema.</p>}
      {fits === false && <p className="notice">Does not match the output schema the tool declared.</p>}
      <pre className="result-text">{JSON.stringify(value, null, 2)}</pre>
    </div>
  );
}
