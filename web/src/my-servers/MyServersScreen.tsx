import { Link, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import { useEffect, useState } from 'react';
import { messageOf } from '../api.ts';
import { emptyForm, formOfView } from './form-state.ts';
import { BITS, displayName } from './my-servers-api.ts';
import './my-servers.css';
import {
  useEffectiveBits,
  useRefreshAfterChange,
  useRolePermissions,
  useServer,
  useUserServers,
} from './queries.ts';
import { ServerCard } from './ServerCard.tsx';
import { ServerForm } from './ServerForm.tsx';

/**
 * My servers: the servers people add from a URL (their own and those shared with them), to create,
 * edit, share and delete as far as their role and their grants on each server allow.
 */
export function MyServersScreen() {
  return (
    <Routes>
      <Route index element={<ServerList />} />
      <Route path="new" element={<CreatePage />} />
      <Route path=":name" element={<EditPage />} />
    </Routes>
  );
}

/** The message a save left for the list (`navigate(…, {state: {notice}})`), if any. */
function noticeOf(state: unknown): string | null {
  if (typeof state !== 'object' || state === null || !('notice' in state)) return null;
  return typeof state.notice === 'string' ? state.notice : null;
}

/**
 * The notice a save left, taken out of the history entry so that a reload does not repeat it, and
 * set after the first render so that the status region announces it.
 */
function useSaveNotice(): string | null {
  const location = useLocation();
  const navigate = useNavigate();
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    const left = noticeOf(location.state);
    if (left === null) return;
    setNotice(left);
    void navigate(location.pathname, { replace: true, state: null });
  }, [location.state, location.pathname, navigate]);
  return notice;
}

function ServerList() {
  const servers = useUserServers();
  const bits = useEffectiveBits();
  const role = useRolePermissions();
  const mayCreate = role.data?.CREATE === true;
  const notice = useSaveNotice();

  return (
    <section aria-labelledby="screen-heading">
      <div className="ms-heading-row">
        <h1 id="screen-heading">My servers</h1>
        {mayCreate && (
          <Link className="button" to="/my-servers/new">
            Add a server
          </Link>
        )}
      </div>
      <p className="muted ms-intro">
        MCP servers added from a URL: yours, and those others share with you.
        {role.data !== undefined &&
          !mayCreate &&
          ' Your role cannot add servers; an administrator can allow it.'}
      </p>
      <p role="status" className={notice === null ? 'ms-sr' : 'ms-saved'}>
        {notice}
      </p>
      {servers.isPending && <p aria-busy="true">Loading servers…</p>}
      {(servers.isError || bits.isError) && (
        <p role="alert" className="alert">
          {messageOf(servers.error ?? bits.error)}
        </p>
      )}
      {servers.data !== undefined && servers.data.length === 0 && (
        <div className="empty">
          <h2>No servers here yet</h2>
          <p className="ms-flush">
            {mayCreate
              ? 'Add an MCP server from its URL; you can then share it with others.'
              : 'Servers others share with you will show up here.'}
          </p>
        </div>
      )}
      {servers.data !== undefined && servers.data.length > 0 && (
        <ul className="ms-cards">
          {servers.data.map((server) => (
            <ServerCard
              key={server.serverName}
              server={server}
              bits={
                server.dbId === undefined
                  ? undefined
                  : (bits.data?.[server.dbId] ?? (bits.data ? BITS.VIEW : undefined))
              }
              mayShareWithPeople={role.data?.SHARE === true}
              mayShareWithEveryone={role.data?.SHARE_PUBLIC === true}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function CreatePage() {
  const role = useRolePermissions();
  const navigate = useNavigate();
  const refresh = useRefreshAfterChange();
  return (
    <section aria-labelledby="screen-heading">
      <p className="ms-back">
        <Link to="/my-servers">← My servers</Link>
      </p>
      <h1 id="screen-heading">Add a server</h1>
      {role.data?.CREATE === false ? (
        <p className="notice">Your role cannot add servers; an administrator can allow it.</p>
      ) : (
        <ServerForm
          initial={emptyForm()}
          onSaved={async (view) => {
            await refresh();
            await navigate('/my-servers', { state: { notice: `${displayName(view)} was added.` } });
          }}
        />
      )}
    </section>
  );
}

function EditPage() {
  const { name = '' } = useParams();
  const server = useServer(name);
  const navigate = useNavigate();
  const refresh = useRefreshAfterChange();
  return (
    <section aria-labelledby="screen-heading">
      <p className="ms-back">
        <Link to="/my-servers">← My servers</Link>
      </p>
      <h1 id="screen-heading">
        {server.data === undefined ? 'Edit server' : `Edit ${displayName(server.data)}`}
      </h1>
      {server.isPending && <p aria-busy="true">Loading…</p>}
      {server.isError && (
        <p role="alert" className="alert">
          {messageOf(server.error)}
        </p>
      )}
      {server.data?.source === 'yaml' && (
        <p className="notice">
          This server is defined in the hub's configuration file: only an administrator changes it, there.
        </p>
      )}
      {server.data?.source === 'user' && server.data.url === undefined && (
        <p className="notice">You may use this server, but not change it.</p>
      )}
      {server.data?.source === 'user' && server.data.url !== undefined && (
        <ServerForm
          serverName={server.data.serverName}
          initial={formOfView(server.data)}
          onSaved={async (view) => {
            await refresh();
            await navigate('/my-servers', { state: { notice: `${displayName(view)} was saved.` } });
          }}
        />
      )}
    </section>
  );
}
