import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  disconnect,
  getConnectionStatus,
  getServers,
  messageOf,
  reconnect,
  type ConnectionState,
  type ListedServer,
  type ServerStatus,
} from '../api.ts';
import { useSession } from '../session.ts';

/** How often the connection states are asked for again while the page is open. */
const STATUS_POLL_MS = 3000;

const STATUS_KEY = ['connection-status'] as const;
const SERVERS_KEY = ['servers'] as const;

const STATE_LABELS: Record<ConnectionState, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  disconnected: 'Disconnected',
  error: 'Error',
};

/** Every server the signed-in user may use, with its tools and live connection state. */
export function ServersScreen() {
  const { csrfToken } = useSession();
  const servers = useQuery({ queryKey: SERVERS_KEY, queryFn: getServers });
  const status = useQuery({
    queryKey: STATUS_KEY,
    queryFn: getConnectionStatus,
    refetchInterval: STATUS_POLL_MS,
  });

  return (
    <section aria-labelledby="servers-heading">
      <h1 id="servers-heading">Servers</h1>
      {servers.isPending && <p aria-busy="true">Loading servers…</p>}
      {servers.isError && (
        <p role="alert" className="alert">
          {messageOf(servers.error)}
        </p>
      )}
      {servers.data !== undefined && Object.keys(servers.data).length === 0 && (
        <div className="empty">
          <h2>No servers yet</h2>
          <p>
            There are no MCP servers you can use. An administrator adds them in the hub's configuration file,
            or shares one with you; they will show up here.
          </p>
        </div>
      )}
      {servers.data !== undefined && Object.keys(servers.data).length > 0 && (
        <ul className="servers">
          {Object.values(servers.data).map((server) => (
            <ServerCard
              key={server.name}
              server={server}
              status={status.data?.[server.name]}
              csrfToken={csrfToken}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

interface ServerCardProps {
  server: ListedServer;
  status: ServerStatus | undefined;
  csrfToken: string;
}

function ServerCard({ server, status, csrfToken }: ServerCardProps) {
  const queryClient = useQueryClient();
  const [notice, setNotice] = useState<{ text: string; href?: string } | null>(null);
  const refresh = async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: STATUS_KEY }),
      queryClient.invalidateQueries({ queryKey: SERVERS_KEY }),
    ]);
  };
  const reconnectMutation = useMutation({
    mutationFn: () => reconnect(server.name, csrfToken),
    onMutate: () => setNotice(null),
    onSuccess: (answer) => {
      if (answer.oauthUrl !== null) {
        setNotice({ text: 'This server needs you to sign in first.', href: answer.oauthUrl });
      } else if (!answer.success) {
        setNotice({ text: answer.message });
      }
    },
    onSettled: refresh,
  });
  const disconnectMutation = useMutation({
    mutationFn: () => disconnect(server.name, csrfToken),
    onMutate: () => setNotice(null),
    onSettled: refresh,
  });
  const failed = reconnectMutation.error ?? disconnectMutation.error;
  const busy = reconnectMutation.isPending || disconnectMutation.isPending;
  const state = status?.connectionState;
  const toolCount = server.tools.length;
  const headingId = `server-${server.name}`;

  return (
    <li className="server" aria-labelledby={headingId}>
      <div className="server-head">
        <ServerIcon icon={server.icon} name={server.name} />
        <div className="server-title">
          <h2 id={headingId}>{server.name}</h2>
          <p className="muted">
            {toolCount === 1 ? '1 tool' : `${toolCount} tools`}
            {status?.requiresOAuth === true && ' · needs OAuth sign-in'}
          </p>
        </div>
        <span className={`state state-${state ?? 'unknown'}`} data-testid="connection-state">
          {state === undefined ? 'Unknown' : STATE_LABELS[state]}
        </span>
      </div>
      {status?.error !== undefined && <p className="muted">{status.error}</p>}
      {toolCount > 0 && (
        <details>
          <summary>Tools</summary>
          <ul className="tools">
            {server.tools.map((tool) => (
              <li key={tool.pluginKey}>
                <code>{tool.name}</code>
                {tool.description !== '' && <span className="muted"> — {tool.description}</span>}
              </li>
            ))}
          </ul>
        </details>
      )}
      <div className="actions">
        <button type="button" onClick={() => reconnectMutation.mutate()} disabled={busy}>
          Reconnect
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => disconnectMutation.mutate()}
          disabled={busy || state === 'disconnected'}
        >
          Disconnect
        </button>
      </div>
      {failed !== null && (
        <p role="alert" className="alert">
          {messageOf(failed)}
        </p>
      )}
      {notice !== null && (
        <p role="status" className="notice">
          {notice.text}{' '}
          {notice.href !== undefined && (
            <a href={notice.href} target="_blank" rel="noopener">
              Sign in to {server.name}
            </a>
          )}
        </p>
      )}
    </li>
  );
}

/** The server's icon when the hub serves it (the page's CSP allows no other host), else its initial. */
function ServerIcon({ icon, name }: { icon: string; name: string }) {
  const [broken, setBroken] = useState(false);
  const local = (icon.startsWith('/') && !icon.startsWith('//')) || icon.startsWith('data:image/');
  if (icon === '' || !local || broken) {
    return (
      <span className="icon letter" aria-hidden="true">
        {name.slice(0, 1).toUpperCase()}
      </span>
    );
  }
  return <img className="icon" src={icon} alt="" width={40} height={40} onError={() => setBroken(true)} />;
}
