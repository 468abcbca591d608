import { Link } from 'react-router';
import { useSession } from '../session.ts';
import type { ExplorerServer, ExplorerTool, ToolArguments } from './explorer-api.ts';
import { displayName } from './tool-names.ts';
import { recallArguments, rememberArguments } from './last-arguments.ts';
import { ResultView } from './ResultView.tsx';
import { ToolAnnotations, ToolIconImage } from './ToolAnnotations.tsx';
import { ToolForm } from './ToolForm.tsx';
import { useToolCall } from './use-tool-call.ts';

/** One tool: what it does, its arguments form, and the result of calling it. */
export function ToolPage({ server, tool }: { server: ExplorerServer; tool: ExplorerTool }) {
  const { user } = useSession();
  const { state, start, cancel } = useToolCall(server.name, tool.name);
  const call = (args: ToolArguments) => {
    rememberArguments(user.id, server.name, tool.name, args);
    void start(args);
  };

  return (
    <section aria-labelledby="tool-heading" className="tool-page">
      <p className="back">
        <Link to="/explorer">← All tools</Link>
      </p>
      <div className="tool-head">
        <ToolIconImage icons={tool.icons} />
        <h1 id="tool-heading">{displayName(tool)}</h1>
      </div>
      <p className="muted tool-id">
        <code>{tool.name}</code> on <strong>{server.name}</strong>
      </p>
      {tool.description !== '' && <p className="tool-description">{tool.description}</p>}
      <ToolAnnotations annotations={tool.annotations} />
      <section className="card" aria-labelledby="arguments-heading">
        <h2 id="arguments-heading">Arguments</h2>
        <ToolForm
          schema={tool.inputSchema}
          initial={recallArguments(user.id, server.name, tool.name)}
          running={state.status === 'running'}
          onCall={call}
          onCancel={cancel}
        />
      </section>
      <ResultView state={state} toolName={tool.name} outputSchema={tool.outputSchema} />
    </section>
  );
}
