import { formatTime, type AuditEvent } from './admin-api.ts';
import { describeDetails } from './audit-filter.ts';

function actorOf(event: AuditEvent): string {
  return event.actorEmail ?? event.actorId ?? 'The hub';
}

function targetKind(event: AuditEvent): string {
  if (event.targetType === 'user') return 'Account ';
  if (event.targetType === 'mcp_server') return 'Server ';
  return '';
}

/**
 * The audit log's events: a table on wide screens, stacked cards on a phone (only one is shown,
 * so assistive technology meets each event once).
 */
export function AuditEvents({ events, labelledBy }: { events: readonly AuditEvent[]; labelledBy: string }) {
  return (
    <>
      <div className="ad-scroll ad-wide" role="region" aria-labelledby={labelledBy} tabIndex={0}>
        <table className="ad-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id}>
                <td className="ad-nowrap">{formatTime(event.at)}</td>
                <td>
                  {actorOf(event)}
                  {event.actorEmail !== null && <span className="muted ad-id"> {event.actorId}</span>}
                </td>
                <td>
                  <code>{event.action}</code>
                </td>
                <td>
                  {targetKind(event)}
                  <code>{event.targetId ?? '—'}</code>
                </td>
                <td className="ad-details">{describeDetails(event.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="ad-narrow ad-event-cards" aria-labelledby={labelledBy}>
        {events.map((event) => (
          <li key={event.id} className="card ad-event">
            <p className="ad-event-head">
              <code>{event.action}</code>
              <span className="muted">{formatTime(event.at)}</span>
            </p>
            <dl>
              <div>
                <dt>Who</dt>
                <dd>
                  {actorOf(event)}
                  {event.actorEmail !== null && <span className="muted ad-id">{event.actorId}</span>}
                </dd>
              </div>
              <div>
                <dt>Target</dt>
                <dd>
                  {targetKind(event)}
                  <code>{event.targetId ?? '—'}</code>
                </dd>
              </div>
              {Object.keys(event.details).length > 0 && (
                <div>
                  <dt>Details</dt>
                  <dd className="ad-details">{describeDetails(event.details)}</dd>
                </div>
              )}
            </dl>
          </li>
        ))}
      </ul>
    </>
  );
}
