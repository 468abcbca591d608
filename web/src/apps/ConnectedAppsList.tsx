import { useQuery } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { messageOf } from '../api.ts';
import { APPS_KEY, getConnectedApps, type ConnectedApp } from './apps-api.ts';
import { RevokeDialog } from './RevokeDialog.tsx';

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** The name an app gave itself, or a stand-in; never markup (React renders it as text). */
function displayName(app: ConnectedApp): string {
  const name = app.clientName?.trim() ?? '';
  return name === '' ? 'Unnamed app' : name;
}

/** The apps the user allowed, each with what it may reach and a Revoke button. */
export function ConnectedAppsList() {
  const apps = useQuery({ queryKey: APPS_KEY, queryFn: getConnectedApps });
  const [announcement, setAnnouncement] = useState('');
  const headingRef = useRef<HTMLHeadingElement>(null);
  const focusHeading = useCallback(() => headingRef.current?.focus(), []);

  return (
    <section aria-labelledby="allowed-heading" className="apps-allowed">
      <h2 id="allowed-heading" ref={headingRef} tabIndex={-1} className="apps-focus-target">
        Apps you allowed
      </h2>
      <p role="status" className="apps-announcement">
        {announcement}
      </p>
      {apps.isPending && <p aria-busy="true">Loading your apps…</p>}
      {apps.isError && (
        <p role="alert" className="alert">
          {messageOf(apps.error)}
        </p>
      )}
      {apps.data !== undefined && apps.data.length === 0 && (
        <div className="empty">
          <h3>No apps yet</h3>
          <p className="muted">
            No app can use your tools through the hub. Connect one with the URL below; it appears here once
            you approve it.
          </p>
        </div>
      )}
      {apps.data !== undefined && apps.data.length > 0 && (
        <ul className="apps-list">
          {apps.data.map((app) => (
            <AppItem
              key={app.clientId}
              app={app}
              onRevoked={setAnnouncement}
              focusAfterRevoke={focusHeading}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

interface AppItemProps {
  app: ConnectedApp;
  onRevoked: (text: string) => void;
  focusAfterRevoke: () => void;
}

function AppItem({ app, onRevoked, focusAfterRevoke }: AppItemProps) {
  const name = displayName(app);
  const headingId = `app-${app.clientId}`;
  const resources = Object.entries(app.resources);
  return (
    <li className="card apps-item" aria-labelledby={headingId}>
      <div className="apps-item-head">
        <h3 id={headingId} className="apps-name">
          {name}
        </h3>
        <RevokeDialog app={app} name={name} onRevoked={onRevoked} focusAfterRevoke={focusAfterRevoke} />
      </div>
      <dl className="apps-facts">
        <dt>Client ID</dt>
        <dd>
          <code>{app.clientId}</code>
        </dd>
        <dt>Allowed on</dt>
        <dd>
          <time dateTime={app.authorizedAt}>{WHEN.format(new Date(app.authorizedAt))}</time>
        </dd>
        <dt>Sends its sign-in codes to</dt>
        <dd>{app.redirectHosts.length === 0 ? 'Unknown' : app.redirectHosts.join(', ')}</dd>
        <dt>May use</dt>
        <dd>
          {resources.length === 0 ? (
            'Nothing yet'
          ) : (
            <ul className="apps-resources">
              {resources.map(([resource, scopes]) => (
                <li key={resource}>
                  <code>{resource}</code>
                  {scopes !== '' && <span className="muted"> (scopes: {scopes})</span>}
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>
    </li>
  );
}
