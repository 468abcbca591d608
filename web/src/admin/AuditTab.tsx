import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { messageOf } from '../api.ts';
import { ADMIN_KEY, fieldErrors, listAudit, listUsers, type AuditFilter } from './admin-api.ts';
import { toFilter, type AuditForm } from './audit-filter.ts';
import { AuditEvents } from './AuditEvents.tsx';
import { AuditFilters } from './AuditFilters.tsx';

async function emailToId(email: string): Promise<string | null> {
  const { users } = await listUsers({ email });
  return users[0]?.id ?? null;
}

/** "1 event matches the filters.", "25+ events.": what the table holds, for the live status. */
function countText(count: number, more: boolean, filtered: boolean): string {
  const amount = `${count}${more ? '+' : ''} ${count === 1 && !more ? 'event' : 'events'}`;
  if (!filtered) return `${amount}.`;
  return `${amount} ${count === 1 && !more ? 'matches' : 'match'} the filters.`;
}

/** Audit log: who did what to which server or account, newest first, filtered and paged. */
export function AuditTab() {
  const [filter, setFilter] = useState<AuditFilter>({});
  const [formErrors, setFormErrors] = useState<Record<string, string>>({});
  const [resolving, setResolving] = useState(false);
  const audit = useInfiniteQuery({
    queryKey: [...ADMIN_KEY, 'audit', filter],
    queryFn: ({ pageParam }) => listAudit(filter, pageParam === '' ? undefined : pageParam),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    retry: false,
  });
  const events = audit.data?.pages.flatMap((page) => page.events) ?? [];
  const apiErrors = fieldErrors(audit.error);
  const errors = { ...apiErrors, ...formErrors };
  const generalError = audit.isError && Object.keys(apiErrors).length === 0 ? messageOf(audit.error) : null;

  const apply = async (form: AuditForm) => {
    setResolving(true);
    try {
      const next = await toFilter(form, emailToId);
      setFormErrors(next.errors);
      if (Object.keys(next.errors).length === 0) setFilter(next.filter);
    } catch (error) {
      setFormErrors({ actorId: messageOf(error) });
    } finally {
      setResolving(false);
    }
  };

  return (
    <section aria-labelledby="ad-audit-heading" className="ad-section">
      <h2 id="ad-audit-heading">Audit log</h2>
      <AuditFilters onApply={apply} errors={errors} busy={resolving} />
      {generalError !== null && (
        <p role="alert" className="alert">
          {generalError}
        </p>
      )}
      <p role="status" className="muted">
        {audit.isPending
          ? 'Loading the audit log…'
          : audit.isError
            ? 'The filters need a look.'
            : countText(events.length, audit.hasNextPage, Object.keys(filter).length > 0)}
      </p>
      {events.length > 0 && <AuditEvents events={events} labelledBy="ad-audit-heading" />}
      {audit.hasNextPage && (
        <button
          type="button"
          className="secondary"
          onClick={() => void audit.fetchNextPage()}
          disabled={audit.isFetchingNextPage}
        >
          {audit.isFetchingNextPage ? 'Loading…' : 'Load more'}
        </button>
      )}
    </section>
  );
}
