import { useQuery } from '@tanstack/react-query';
import { messageOf } from '../api.ts';
import { ADMIN_KEY, formatTime, getServerHealth } from './admin-api.ts';
import { ServerHealthCard } from './ServerHealthCard.tsx';

/** How often the health refreshes while the tab is open. */
const REFRESH_MS = 5_000;

/** Servers: every registered server's health on this hub instance, refreshed every few seconds. */
export function ServersTab() {
  const health = useQuery({
    queryKey: [...ADMIN_KEY, 'health'],
    queryFn: getServerHealth,
    refetchInterval: REFRESH_MS,
  });
  const servers = health.data?.servers ?? [];

  return (
    <section aria-labelledby="ad-servers-heading" className="ad-section">
      <h2 id="ad-servers-heading">Servers</h2>
      <p className="muted">
        Every server, from the configuration file and added by users. Connection counts and failures are those
        of the hub instance that answered; when the hub runs as several instances, each holds its own
        connections.
      </p>
      {health.isError && (
        <p role="alert" className="alert">
          {messageOf(health.error)}
        </p>
      )}
      <p role="status" className="muted">
        {health.isPending
          ? 'Loading servers…'
          : `${servers.length} servers, ${servers.filter((s) => s.lastFailure !== null).length} with a failure on record.`}
      </p>
      {health.data && (
        <p className="muted">Updated {formatTime(health.dataUpdatedAt)}; refreshes every few seconds.</p>
      )}
      {health.data?.truncated && (
        <p className="notice">There are more user-added servers than this page lists at once.</p>
      )}
      <ul className="ad-servers">
        {servers.map((server) => (
          <ServerHealthCard key={server.name} server={server} />
        ))}
      </ul>
    </section>
  );
}
