import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The page is served by the hub at `/`; `npm run dev` proxies the API to a hub on port 3080 so the
 * page and the API share an origin, as the hub's cookies and CSRF check expect.
 */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/auth', '/oauth', '/oauth2', '/mcp', '/.well-known'].map((prefix) => [
        prefix,
        'http://127.0.0.1:3080',
      ]),
    ),
  },
});
