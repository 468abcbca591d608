import { Link } from 'react-router';
import { useSession } from '../session.ts';
import { DeleteDialog } from './DeleteDialog.tsx';
import { principalName, ROLE_WORDS } from './labels.ts';
import { BITS, displayName, type Permissions, type ServerView } from './my-servers-api.ts';
import { usePermissions } from './queries.ts';
import { ShareDialog } from './ShareDialog.tsx';

/** What the caller may do with a server, from their bits on it. */
export function abilitiesOf(bits: number) {
  return {
    edit: (bits & BITS.EDIT) !== 0,
    remove: (bits & BITS.DELETE) !== 0,
    share: (bits & BITS.SHARE) !== 0,
  };
}

const ALL = BITS.VIEW | BITS.EDIT | BITS.DELETE | BITS.SHARE;

/** A short label of the caller's relation to a server: theirs, or shared with them and how far. */
function accessLabel(bits: number, permissions: Permissions | undefined, myId: string): string {
  if (permissions !== undefined && permissions.owner.id === myId) return 'Yours';
  if (permissions !== undefined) return `Owner: ${permissions.owner.email ?? 'an account that is gone'}`;
  if (bits === ALL) return 'Shared with you: full control';
  if ((bits & BITS.EDIT) !== 0) return 'Shared with you: can use and edit';
  return 'Shared with you: can use';
}

interface ServerCardProps {
  server: ServerView;
  /** The caller's bits on it; undefined while they load. */
  bits: number | undefined;
  mayShareWithPeople: boolean;
  mayShareWithEveryone: boolean;
}

/** One user server: what it is, who it is shared with, and what the caller may do with it. */
export function ServerCard({ server, bits, mayShareWithPeople, mayShareWithEveryone }: ServerCardProps) {
  const { user } = useSession();
  const may = abilitiesOf(bits ?? 0);
  const canShare = may.share && (mayShareWithPeople || mayShareWithEveryone);
  const permissions = usePermissions(server, may.share);
  const headingId = `ms-server-${server.serverName}`;
  const title = displayName(server);
  const toolCount = server.toolCount;

  return (
    <li className="card ms-card" aria-labelledby={headingId}>
      <div className="ms-card-head">
        <h2 id={headingId}>{title}</h2>
        {/* Who owns it is known once the grants are read (with SHARE); until then, say nothing. */}
        {bits !== undefined && !(may.share && permissions.isPending) && (
          <span className="ms-badge" data-testid="access">
            {accessLabel(bits, permissions.data, user.id)}
          </span>
        )}
      </div>
      <p className="muted">
        <code>{server.serverName}</code> · {server.type === 'sse' ? 'SSE' : 'Streamable HTTP'}
        {typeof toolCount === 'number' && ` · ${toolCount === 1 ? '1 tool' : `${toolCount} tools`}`}
        {server.requiresOAuth && ' · needs OAuth sign-in'}
      </p>
      {server.description !== undefined && server.description !== '' && (
        <p className="ms-description">{server.description}</p>
      )}
      {server.url !== undefined && (
        <p className="ms-url">
          <span className="muted">URL </span>
          <code>{server.url}</code>
        </p>
      )}
      {permissions.data !== undefined && <SharingSummary permissions={permissions.data} />}
      {(may.edit || canShare || may.remove) && (
        <div className="actions">
          {may.edit && (
            <Link className="button secondary" to={`/my-servers/${encodeURIComponent(server.serverName)}`}>
              Edit<span className="ms-sr"> {title}</span>
            </Link>
          )}
          {canShare && (
            <ShareDialog
              server={server}
              mayShareWithPeople={mayShareWithPeople}
              mayShareWithEveryone={mayShareWithEveryone}
            />
          )}
          {may.remove && <DeleteDialog server={server} />}
        </div>
      )}
    </li>
  );
}

/** Who else may use the server, in one or two lines. */
function SharingSummary({ permissions }: { permissions: Permissions }) {
  const others = permissions.principals.filter(
    (principal) => !(principal.type === 'user' && principal.id === permissions.owner.id),
  );
  return (
    <div className="ms-sharing" data-testid="sharing">
      {permissions.public !== null && <p className="ms-flush">Everyone {ROLE_WORDS[permissions.public]}.</p>}
      {others.length === 0 && permissions.public === null && <p className="ms-flush muted">Not shared.</p>}
      {others.length > 0 && (
        <p className="ms-flush">
          Shared with{' '}
          {others
            .map((principal) => `${principalName(principal)} (${ROLE_WORDS[principal.role]})`)
            .join(', ')}
        </p>
      )}
    </div>
  );
}
