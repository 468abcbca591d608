import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { getProviders, messageOf, SESSION_KEY, signIn } from './api.ts';

/** Where a provider's flow sends the browser back: this page's root. */
function startHref(startUrl: string): string {
  const url = new URL(startUrl, window.location.origin);
  url.searchParams.set('returnTo', '/');
  return url.origin === window.location.origin ? url.pathname + url.search : url.href;
}

/** Sign in with an email and password, or with one of the hub's single-sign-on providers. */
export function SignIn() {
  const queryClient = useQueryClient();
  const providers = useQuery({ queryKey: ['providers'], queryFn: getProviders });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const mutation = useMutation({
    mutationFn: () => signIn(email.trim(), password),
    onSuccess: (session) => queryClient.setQueryData(SESSION_KEY, session),
    // The password is not kept after a failed attempt; the email is.
    onError: () => setPassword(''),
  });

  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <main className="center">
      <h1>Sign in to Switchboard</h1>
      <form onSubmit={submit} className="card" aria-label="Sign in with a password">
        {mutation.isError && (
          <p role="alert" className="alert">
            {messageOf(mutation.error)}
          </p>
        )}
        <label>
          Email
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
          />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        <button type="submit" disabled={mutation.isPending}>
          {mutation.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {providers.data !== undefined && providers.data.length > 0 && (
        <nav aria-label="Single sign-on" className="providers">
          <p>Or continue with</p>
          <ul>
            {providers.data.map((provider) => (
              <li key={provider.id}>
                <a className="button secondary" href={startHref(provider.startUrl)}>
                  {provider.name}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </main>
  );
}
