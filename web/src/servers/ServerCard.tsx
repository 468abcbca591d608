import { AuthState } from './AuthState.tsx';
import { useOAuthConnect } from './oauth-popup.ts';
import { ServerActions } from './ServerActions.tsx';
import { ServerIcon } from './ServerIcon.tsx';
import type { ConnectionState, ServerStatus } from './servers-api.ts';
import { TRANSPORT_LABELS, type Owner, type ServerEntry } from './use-servers.ts';
import { VariablesSummary } from './VariablesSummary.tsx';

const STATE_LABELS: Record<ConnectionState, string> = {
  connected: 'Connected',
  connecting: 'Connecting…',
  disconnected: 'Disconnected',
  error: 'Error',
};

/** Who the server belongs to, in words. */
export function ownerText(owner: Owner | undefined): string {
  switch (owner?.kind) {
    case 'admin':
      return 'Admin';
    case 'you':
      return 'You';
    case 'user':
      return owner.email ?? 'Another user';
    case 'shared':
      return 'Shared with you';
    default:
      return '…';
  }
}

interface ServerCardProps {
  server: ServerEntry;
  status: ServerStatus | undefined;
  owner: Owner | undefined;
  /** On the server's own page: the heading is the page's, and no link to itself. */
  standalone?: boolean;
}

/**
 * One server: its icon, title and description, transport and owner, live connection and
 * authorization state, tools, and what the caller can do with it.
 */
export function ServerCard({ server, status, owner, standalone = false }: ServerCardProps) {
  const connect = useOAuthConnect(server.name, server.title);
  const state = status?.connectionState;
  const headingId = `server-${server.name}`;
  const toolCount = server.tools.length;
  const Heading = standalone ? 'h1' : 'h2';
  const Root = standalone ? 'section' : 'li';

  return (
    <Root className="server" aria-labelledby={headingId}>
      <div className="server-head">
        <ServerIcon icon={server.icon} title={server.title} />
        <div className="server-title">
          <Heading id={headingId}>{server.title}</Heading>
          {server.title !== server.name && (
            <p className="muted">
              <code>{server.name}</code>
            </p>
          )}
        </div>
        <span className={`state state-${state ?? 'unknown'}`} data-testid="connection-state">
          {state === undefined ? 'Unknown' : STATE_LABELS[state]}
        </span>
      </div>
      {server.description !== null && <p className="server-description">{server.description}</p>}
      <dl className="server-facts">
        <div>
          <dt>Transport</dt>
          <dd>{server.type === null ? 'Unknown' : TRANSPORT_LABELS[server.type]}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd data-testid="owner">{ownerText(owner)}</dd>
        </div>
        <div>
          <dt>Tools</dt>
          <dd>{toolCount === 1 ? '1 tool' : `${toolCount} tools`}</dd>
        </div>
      </dl>
      <AuthState server={server} phase={connect.phase} />
      {!standalone && <VariablesSummary server={server} />}
      {status?.error !== undefined && <p className="muted">{status.error}</p>}
      {toolCount > 0 && (
        <details open={standalone}>
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
      <ServerActions server={server} status={status} connect={connect} showDetailsLink={!standalone} />
    </Root>
  );
}
