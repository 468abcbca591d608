import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getSession, messageOf, SESSION_KEY, signOut, type Session } from './api.ts';
import { Servers } from './Servers.tsx';
import { SignIn } from './SignIn.tsx';

/** The page: the sign-in screen, or the signed-in user's servers. */
export function App() {
  const session = useQuery({ queryKey: SESSION_KEY, queryFn: getSession });

  if (session.isPending) {
    return (
      <main className="center" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (session.isError) {
    return (
      <main className="center">
        <p role="alert" className="alert">
          {messageOf(session.error)}
        </p>
        <button type="button" onClick={() => void session.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (session.data === null) return <SignIn />;
  return <SignedIn session={session.data} />;
}

function SignedIn({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const signOutMutation = useMutation({
    mutationFn: () => signOut(session.csrfToken),
    onSuccess: () => {
      // The signed-in screens unmount first, so nothing refetches; then nothing of this user stays
      // cached for whoever signs in next.
      queryClient.setQueryData(SESSION_KEY, null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== SESSION_KEY[0] });
    },
  });

  return (
    <>
      <header className="topbar">
        <span className="brand">Switchboard</span>
        <span className="who">
          <span className="email">{session.user.email}</span>
          <button
            type="button"
            className="secondary"
            onClick={() => signOutMutation.mutate()}
            disabled={signOutMutation.isPending}
          >
            Sign out
          </button>
        </span>
      </header>
      {signOutMutation.isError && (
        <p role="alert" className="alert page-alert">
          {messageOf(signOutMutation.error)}
        </p>
      )}
      <main className="content">
        <Servers csrfToken={session.csrfToken} />
      </main>
    </>
  );
}
