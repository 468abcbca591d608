import { useQuery } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { messageOf } from '../api.ts';
import { getToolCatalog, TOOLS_KEY, type ExplorerServer } from './explorer-api.ts';
import { LoadFailure } from './LoadFailure.tsx';
import { ToolList } from './ToolList.tsx';
import './explorer.css';

// A tool's page brings the form generator, the largest part of the page: load it when first needed.
const ToolPage = lazy(() => import('./ToolPage.tsx').then((module) => ({ default: module.ToolPage })));

/**
 * The Tool explorer: every server's tools (`/explorer`), and one tool's page
 * (`/explorer/:server/:tool`) to call it with a generated arguments form and see its result.
 */
export function ExplorerScreen() {
  const catalog = useQuery({ queryKey: TOOLS_KEY, queryFn: getToolCatalog });

  if (catalog.isPending) {
    return (
      <p aria-busy="true" className="muted">
        Loading tools…
      </p>
    );
  }
  if (catalog.isError) {
    return (
      <section aria-labelledby="explorer-heading">
        <h1 id="explorer-heading">Tools</h1>
        <p role="alert" className="alert">
          {messageOf(catalog.error)}
        </p>
        <button type="button" onClick={() => void catalog.refetch()}>
          Try again
        </button>
      </section>
    );
  }
  const servers = Object.values(catalog.data);
  return (
    <Routes>
      <Route index element={<ToolList servers={servers} />} />
      <Route path=":server/*" element={<ChosenTool servers={servers} />} />
    </Routes>
  );
}

function ChosenTool({ servers }: { servers: ExplorerServer[] }) {
  const params = useParams();
  const serverName = params.server ?? '';
  const toolName = params['*'] ?? '';
  const server = servers.find((candidate) => candidate.name === serverName);
  const tool = server?.tools.find((candidate) => candidate.name === toolName);
  if (server === undefined || tool === undefined)
    return <ToolNotFound serverName={serverName} toolName={toolName} />;
  // A new tool is a new page: its own form and result, and a running call of the last one cancelled.
  return (
    <LoadFailure key={`${server.name}\n${tool.name}`}>
      <Suspense
        fallback={
          <p aria-busy="true" className="muted">
            Loading the tool…
          </p>
        }
      >
        <ToolPage server={server} tool={tool} />
      </Suspense>
    </LoadFailure>
  );
}

/** The page for a server or tool the catalog does not have (any more). */
export function ToolNotFound({ serverName, toolName }: { serverName: string; toolName: string }) {
  return (
    <section aria-labelledby="tool-heading">
      <p className="back">
        <Link to="/explorer">← All tools</Link>
      </p>
      <h1 id="tool-heading">Tool not found</h1>
      <p>
        There is no tool <code>{toolName}</code> on a server <strong>{serverName}</strong> that you can use.
        The server may be disconnected, or its tools may have changed.
      </p>
    </section>
  );
}
