import { useId, useState } from 'react';
import { Link } from 'react-router';
import type { ExplorerServer, ExplorerTool } from './explorer-api.ts';
import { ToolAnnotations, ToolIconImage } from './ToolAnnotations.tsx';
import { displayName, toolPath } from './tool-names.ts';

function matches(tool: ExplorerTool, filter: string): boolean {
  if (filter === '') return true;
  const words = [tool.name, tool.title ?? '', tool.description].join(' ').toLowerCase();
  return words.includes(filter);
}

/** Every server's tools, to choose one to try; a filter narrows the list by name or description. */
export function ToolList({ servers }: { servers: ExplorerServer[] }) {
  const [filter, setFilter] = useState('');
  const filterId = useId();
  const wanted = filter.trim().toLowerCase();
  const shown = servers.map((server) => ({
    server,
    tools: server.tools.filter((tool) => matches(tool, wanted)),
  }));
  const count = shown.reduce((sum, entry) => sum + entry.tools.length, 0);

  return (
    <section aria-labelledby="explorer-heading">
      <h1 id="explorer-heading">Tools</h1>
      <p className="muted intro">Choose a tool to fill in its arguments, call it and see what it answers.</p>
      {servers.length === 0 ? (
        <div className="empty">
          <h2>No servers yet</h2>
          <p>There are no MCP servers you can use, so there are no tools to try.</p>
        </div>
      ) : (
        <>
          <div className="tool-filter">
            <label htmlFor={filterId}>Filter tools</label>
            <input
              id={filterId}
              type="search"
              value={filter}
              onChange={(event) => setFilter(event.target.value)}
            />
          </div>
          <p role="status" className="muted tool-count">
            {count === 1 ? '1 tool' : `${count} tools`}
            {wanted === '' ? '' : ` match “${filter.trim()}”`}
          </p>
          {shown.map(({ server, tools }) => (
            <ServerTools key={server.name} server={server} tools={tools} filtered={wanted !== ''} />
          ))}
        </>
      )}
    </section>
  );
}

function ServerTools({
  server,
  tools,
  filtered,
}: {
  server: ExplorerServer;
  tools: ExplorerTool[];
  filtered: boolean;
}) {
  const headingId = useId();
  if (filtered && tools.length === 0) return null;
  return (
    <section className="card tool-server" aria-labelledby={headingId}>
      <h2 id={headingId}>{server.name}</h2>
      {server.tools.length === 0 && (
        <p className="muted">
          {server.authenticated
            ? 'No tools known yet: the hub lists them once it has connected to this server.'
            : 'This server needs you first: sign in to it, or give it your own values such as an API key, on the Servers screen.'}{' '}
          <Link to="/servers">Go to Servers</Link>
        </p>
      )}
      {tools.length > 0 && (
        <ul className="tool-list">
          {tools.map((tool) => (
            <li key={tool.pluginKey} className="tool-item">
              <div className="tool-item-head">
                <ToolIconImage icons={tool.icons} />
                <Link to={toolPath(server.name, tool.name)} className="tool-link">
                  {displayName(tool)}
                </Link>
                {displayName(tool) !== tool.name && <code className="muted">{tool.name}</code>}
              </div>
              {tool.description !== '' && <p className="tool-summary">{tool.description}</p>}
              <ToolAnnotations annotations={tool.annotations} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
