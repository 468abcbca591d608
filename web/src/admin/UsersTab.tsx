import { useInfiniteQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { messageOf } from '../api.ts';
import { ADMIN_KEY, listUsers } from './admin-api.ts';
import { UserRow } from './UserRow.tsx';

/** Users: every account (paged), or the one with an email; role, enabled state and removal. */
export function UsersTab() {
  const emailId = useId();
  const [draft, setDraft] = useState('');
  const [email, setEmail] = useState<string | undefined>(undefined);
  const users = useInfiniteQuery({
    queryKey: [...ADMIN_KEY, 'users', email ?? null],
    queryFn: ({ pageParam }) =>
      listUsers({ ...(email === undefined ? {} : { email }), ...(pageParam ? { after: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const accounts = users.data?.pages.flatMap((page) => page.users) ?? [];

  const search = (event: FormEvent) => {
    event.preventDefault();
    const value = draft.trim();
    setEmail(value === '' ? undefined : value);
  };

  return (
    <section aria-labelledby="ad-users-heading" className="ad-section">
      <h2 id="ad-users-heading">Users</h2>
      <form className="ad-search" role="search" onSubmit={search}>
        <div className="ad-grow">
          <label htmlFor={emailId}>Find by email</label>
          <input
            id={emailId}
            type="email"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            placeholder="name@example.com"
            autoComplete="off"
          />
        </div>
        <div className="actions">
          <button type="submit">Find</button>
          {email !== undefined && (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setDraft('');
                setEmail(undefined);
              }}
            >
              Show all
            </button>
          )}
        </div>
      </form>
      {users.isError && (
        <p role="alert" className="alert">
          {messageOf(users.error)}
        </p>
      )}
      <p role="status" className="muted">
        {users.isPending
          ? 'Loading users…'
          : email !== undefined
            ? accounts.length === 0
              ? `No account has the email ${email}.`
              : `The account with the email ${email}.`
            : `${accounts.length}${users.hasNextPage ? '+' : ''} ${accounts.length === 1 && !users.hasNextPage ? 'account' : 'accounts'}.`}
      </p>
      <ul className="ad-users">
        {accounts.map((account) => (
          <UserRow key={account.id} account={account} />
        ))}
      </ul>
      {users.hasNextPage && (
        <button
          type="button"
          className="secondary"
          onClick={() => void users.fetchNextPage()}
          disabled={users.isFetchingNextPage}
        >
          {users.isFetchingNextPage ? 'Loading…' : 'Load more users'}
        </button>
      )}
    </section>
  );
}
