import { ConnectedAppsList } from './ConnectedAppsList.tsx';
import { EndpointPanel } from './EndpointPanel.tsx';
import './apps.css';

/**
 * Connected apps: the MCP clients the user allowed through the hub's own authorization server,
 * with revoke, and the hub's MCP URL with ready-to-paste client configurations.
 */
export function AppsScreen() {
  return (
    <section aria-labelledby="screen-heading" className="apps">
      <h1 id="screen-heading">Connected apps</h1>
      <p className="muted apps-intro">
        Apps such as Claude Code, VS Code or Cursor use your tools through the hub once you allow them.
      </p>
      <ConnectedAppsList />
      <EndpointPanel />
    </section>
  );
}
