import { useQueries } from '@tanstack/react-query';
import { messageOf } from '../api.ts';
import { ADMIN_KEY, getRolePermissions } from './admin-api.ts';

const ROLES = [
  { role: 'USER', label: 'Users' },
  { role: 'ADMIN', label: 'Administrators' },
] as const;

/** What each MCP-server permission lets a role do, in plain words. */
const PERMISSIONS: readonly { key: string; label: string }[] = [
  { key: 'USE', label: 'Use servers' },
  { key: 'CREATE', label: 'Add their own servers' },
  { key: 'SHARE', label: 'Share servers with people and groups' },
  { key: 'SHARE_PUBLIC', label: 'Share servers with everyone' },
];

/**
 * Roles: what each role may do with MCP servers, as the hub answers. The hub reads them from its
 * configuration file and refuses changes through the API (409), so they are shown, not edited.
 */
export function RolesTab() {
  const roles = useQueries({
    queries: ROLES.map(({ role }) => ({
      queryKey: [...ADMIN_KEY, 'role', role],
      queryFn: () => getRolePermissions(role),
    })),
  });

  return (
    <section aria-labelledby="ad-roles-heading" className="ad-section">
      <h2 id="ad-roles-heading">Roles</h2>
      <p className="muted">
        What each role may do with MCP servers. These come from the hub’s configuration file (
        <code>roles</code> in switchboard.yaml) and change there, followed by a restart.
      </p>
      <div className="ad-roles">
        {ROLES.map(({ role, label }, index) => {
          const query = roles[index];
          return (
            <section key={role} className="card ad-role" aria-labelledby={`ad-role-${role}`}>
              <h3 id={`ad-role-${role}`}>{label}</h3>
              {query?.isError && (
                <p role="alert" className="alert">
                  {messageOf(query.error)}
                </p>
              )}
              {query?.isPending && <p className="muted">Loading…</p>}
              {query?.data && (
                <ul className="ad-permissions">
                  {PERMISSIONS.map(({ key, label: words }) => {
                    const allowed = query.data[key] === true;
                    return (
                      <li key={key}>
                        <span>{words}</span>
                        <span className={`state ${allowed ? 'state-connected' : 'state-disconnected'}`}>
                          {allowed ? 'Allowed' : 'Not allowed'}
                        </span>
                      </li>
                    );
                  })}
                </ul>
              )}
            </section>
          );
        })}
      </div>
    </section>
  );
}
