import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { messageOf } from '../api.ts';
import type { ToolsListing } from './servers-api.ts';
import { ServerCard } from './ServerCard.tsx';
import './servers.css';
import { KEYS, useConnectionStatus, useOwners, useServerEntries } from './use-servers.ts';
import { VariablesForm } from './VariablesForm.tsx';

/** The Servers screen: every server the user may use (`/servers`) and one server's page (`/servers/:name`). */
export function ServersScreen() {
  useToolsFollowStatus();
  return (
    <Routes>
      <Route index element={<ServerList />} />
      <Route path=":name" element={<ServerPage />} />
    </Routes>
  );
}

/**
 * Asks for the tools listing again whenever a connection state changes (a server that connected
 * brings its tools, one that lost its authorization loses them), so nothing needs a reload.
 */
function useToolsFollowStatus() {
  const queryClient = useQueryClient();
  const status = useConnectionStatus();
  const signature =
    status.data === undefined
      ? ''
      : Object.entries(status.data)
          .map(([name, entry]) => `${name}=${entry.connectionState}`)
          .sort()
          .join(',');
  const previous = useRef(signature);
  useEffect(() => {
    if (previous.current !== '' && previous.current !== signature) {
      void queryClient.invalidateQueries({ queryKey: KEYS.tools });
    }
    previous.current = signature;
  }, [queryClient, signature]);
  // A connection can report "connected" a moment before its tool list is stored: while a connected
  // server is listed with no tools, ask again at each status poll rather than once.
  useEffect(() => {
    if (status.data === undefined) return;
    const listing = queryClient.getQueryData<Record<string, ToolsListing>>(KEYS.tools);
    const waiting = Object.entries(status.data).some(
      ([name, entry]) => entry.connectionState === 'connected' && (listing?.[name]?.tools.length ?? 0) === 0,
    );
    if (waiting) void queryClient.invalidateQueries({ queryKey: KEYS.tools });
  }, [queryClient, status.data, status.dataUpdatedAt]);
}

function ServerList() {
  const { entries, pending, error } = useServerEntries();
  const status = useConnectionStatus();
  const owners = useOwners(entries);

  return (
    <section aria-labelledby="servers-heading">
      <h1 id="servers-heading">Servers</h1>
      {pending && <p aria-busy="true">Loading servers…</p>}
      {error !== null && (
        <p role="alert" className="alert">
          {messageOf(error)}
        </p>
      )}
      {entries !== undefined && entries.length === 0 && (
        <div className="empty">
          <h2>No servers yet</h2>
          <p>
            There are no MCP servers you can use. An administrator adds them in the hub's configuration file,
            or someone shares one with you; they will show up here.
          </p>
        </div>
      )}
      {entries !== undefined && entries.length > 0 && (
        <ul className="servers">
          {entries.map((server) => (
            <ServerCard
              key={server.name}
              server={server}
              status={status.data?.[server.name]}
              owner={owners[server.name]}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

/** One server's page: the same facts and actions as its card, its tools, and its variables form. */
function ServerPage() {
  const { name = '' } = useParams();
  const { entries, pending, error } = useServerEntries();
  const status = useConnectionStatus();
  const owners = useOwners(entries);
  const server = entries?.find((entry) => entry.name === name);

  return (
    <div className="server-page">
      <p>
        <Link to="/servers">← All servers</Link>
      </p>
      {pending && <p aria-busy="true">Loading…</p>}
      {error !== null && (
        <p role="alert" className="alert">
          {messageOf(error)}
        </p>
      )}
      {entries !== undefined && server === undefined && (
        <section aria-labelledby="no-server-heading">
          <h1 id="no-server-heading">No such server</h1>
          <p>There is no server named {name} that you may use.</p>
        </section>
      )}
      {server !== undefined && (
        <>
          <ServerCard
            server={server}
            status={status.data?.[server.name]}
            owner={owners[server.name]}
            standalone
          />
          {Object.keys(server.customUserVars).length > 0 && <VariablesForm server={server} />}
        </>
      )}
    </div>
  );
}
