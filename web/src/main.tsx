import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, SESSION_KEY } from './api.ts';
import { App } from './App.tsx';
import './styles.css';

/** A 401 on any call means the session ended (signed out elsewhere, expired): ask who is signed in again. */
function onApiError(error: Error): void {
  if (error instanceof ApiError && error.status === 401) {
    void queryClient.invalidateQueries({ queryKey: SESSION_KEY });
  }
}

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: onApiError }),
  mutationCache: new MutationCache({ onError: onApiError }),
  defaultOptions: {
    // A 4xx will not change by asking again; other failures get one more try.
    queries: {
      retry: (failures, error) => failures < 1 && !(error instanceof ApiError && error.status < 500),
    },
  },
});

// The hub puts a fresh nonce for this page load here and allows it in the page's `style-src`: the
// dialogs' scroll lock writes one small <style> element, which a strict CSP otherwise refuses.
const styleNonce = document.querySelector('meta[name="style-nonce"]')?.getAttribute('content') ?? '';
if (styleNonce !== '') setNonce(styleNonce);

const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
