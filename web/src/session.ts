import { createContext, useContext } from 'react';
import type { Session } from './api.ts';

/** The signed-in user's session, provided by the page once someone is signed in. */
export const SessionContext = createContext<Session | null>(null);

/** The signed-in session (who, and the CSRF token every change sends); only inside the signed-in page. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession is only for the signed-in screens');
  return session;
}
