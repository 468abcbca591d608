import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { BrowserRouter, Navigate, NavLink, Route, Routes } from 'react-router';
import { AdminScreen } from './admin/AdminScreen.tsx';
import { getSession, messageOf, SESSION_KEY, signOut, type Session } from './api.ts';
import { AppsScreen } from './apps/AppsScreen.tsx';
import { ExplorerScreen } from './explorer/ExplorerScreen.tsx';
import { MyServersScreen } from './my-servers/MyServersScreen.tsx';
import { ServersScreen } from './servers/ServersScreen.tsx';
import { SessionContext } from './session.ts';
import { SignIn } from './SignIn.tsx';

/** The page: the sign-in screen, or the signed-in user's screens. */
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
  return (
    <SessionContext value={session.data}>
      <BrowserRouter>
        <SignedIn session={session.data} />
      </BrowserRouter>
    </SessionContext>
  );
}

/**
 * The screens and their paths. The hub serves the page for each first path segment here
 * (`PAGE_SEGMENTS` in the hub's web-app routes): a new segment must be added there too.
 */
const SCREENS = [
  { path: 'servers', label: 'Servers', adminOnly: false },
  { path: 'explorer', label: 'Tools', adminOnly: false },
  { path: 'my-servers', label: 'My servers', adminOnly: false },
  { path: 'apps', label: 'Connected apps', adminOnly: false },
  { path: 'admin', label: 'Admin', adminOnly: true },
] as const;

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
  const isAdmin = session.user.role === 'ADMIN';

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Switchboard</span>
        <nav aria-label="Screens" className="screens-nav">
          <ul>
            {SCREENS.filter((screen) => isAdmin || !screen.adminOnly).map((screen) => (
              <li key={screen.path}>
                <NavLink to={`/${screen.path}`}>{screen.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
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
      <main className="content" id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/servers" replace />} />
          <Route path="/index.html" element={<Navigate to="/servers" replace />} />
          <Route path="/servers/*" element={<ServersScreen />} />
          <Route path="/explorer/*" element={<ExplorerScreen />} />
          <Route path="/my-servers/*" element={<MyServersScreen />} />
          <Route path="/apps/*" element={<AppsScreen />} />
          {isAdmin && <Route path="/admin/*" element={<AdminScreen />} />}
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </>
  );
}

function NotFound() {
  return (
    <section aria-labelledby="not-found-heading">
      <h1 id="not-found-heading">Nothing here</h1>
      <p>
        This page does not exist, or is not yours to see. <NavLink to="/servers">Go to your servers</NavLink>.
      </p>
    </section>
  );
}
